from pathlib import Path

import pytest

from runtime.config import (
    AuthConfig,
    HttpConfig,
    NodeConfig,
    RaftConfig,
    SchedulerConfig,
    TlsConfig,
    UserConfig,
    config_from_dict,
    load_config,
)

EXAMPLE = Path(__file__).parents[2] / "examples" / "podium.toml"


def load(*argv: str) -> NodeConfig:
    return load_config(list(argv), env={})


def test_no_arguments_is_the_documented_development_node() -> None:
    config = load()
    assert config.role == "dev"
    assert config.id == "m1"
    assert config.listen == "127.0.0.1:7001"
    assert config.http.listen == "127.0.0.1:8080"
    assert config.peers == {"m1": "127.0.0.1:7001"}
    assert config.masters == ()
    assert config.data == Path("podium-data")
    assert config.capacity == 4
    assert config.handlers == ()
    assert config.types == ()
    assert config.policy == "capacity_aware"
    assert config.profile == "development"
    assert config.log_level == "info"
    assert config.runs_master and config.runs_worker
    assert config == NodeConfig()


def test_section_defaults() -> None:
    config = load()
    assert config.raft == RaftConfig()
    assert config.raft.tick_s == 0.05
    assert config.raft.heartbeat_ticks < config.raft.election_ticks
    assert config.scheduler == SchedulerConfig()
    assert (config.scheduler.lease_s, config.scheduler.heartbeat_s) == (10, 1)
    assert config.scheduler.dead_letter is True
    assert config.http.max_body_bytes == 1024 * 1024
    assert config.auth == AuthConfig()
    assert not config.auth.enabled
    assert config.auth.shell_roles == ("admin",)
    assert config.tls == TlsConfig()
    assert not config.tls.enabled


def test_master_defaults_follow_its_id() -> None:
    config = load("--role", "master", "--id", "m2", "--listen", "127.0.0.1:7002")
    assert config.http.listen == "127.0.0.1:8001"
    assert config.peers == {"m2": "127.0.0.1:7002"}
    assert config.data == Path("podium-data", "m2")
    assert config.runs_master and not config.runs_worker


def test_worker_defaults() -> None:
    config = load("--role", "worker", "--masters", "127.0.0.1:7001")
    assert config.id == "w1"
    assert config.http.listen == ""
    assert config.http.address is None
    # a worker dials out: a fixed port would clash with a master on this host
    assert config.listen == "127.0.0.1:0"
    assert config.peers == {}
    assert config.data == Path("podium-data", "w1")
    assert config.runs_worker and not config.runs_master


def test_constructing_in_code_applies_the_same_role_defaults() -> None:
    worker = NodeConfig(role="worker", masters=("127.0.0.1:7001",))
    assert worker == load("--role", "worker", "--masters", "127.0.0.1:7001")
    master = NodeConfig(role="master", id="m3")
    assert master == load("--role", "master", "--id", "m3")


def test_constructing_in_code_validates_fields() -> None:
    with pytest.raises(ValueError, match="capacity must be at least 1"):
        NodeConfig(capacity=0)
    with pytest.raises(ValueError, match=r"peers\.m1 must be host:port"):
        NodeConfig(peers={"m1": "nowhere"})
    with pytest.raises(ValueError, match="tick_s must be a positive number"):
        RaftConfig(tick_s=0)


def test_an_http_table_without_listen_keeps_the_roles_address() -> None:
    config = config_from_dict({"role": "master", "http": {"max_body_bytes": 10}})
    assert config.http == HttpConfig(listen="127.0.0.1:8001", max_body_bytes=10)


def test_addresses_are_parsed_for_the_node() -> None:
    config = load(
        "--role", "master", "--listen", "[::1]:7001", "--peers", "m1=[::1]:7001,m2=10.0.0.2:7002"
    )
    assert config.listen_address == ("::1", 7001)
    assert config.peer_addresses == {"m1": ("::1", 7001), "m2": ("10.0.0.2", 7002)}
    assert config.http.address == ("127.0.0.1", 8001)
    worker = load("--role", "worker", "--masters", "a:1,b:2")
    assert worker.master_addresses == (("a", 1), ("b", 2))


def test_empty_types_accept_every_job_type() -> None:
    assert load().accepts("anything")
    picky = load("--types", "email,report")
    assert picky.accepts("email")
    assert not picky.accepts("shell")


def test_secrets_stay_out_of_repr() -> None:
    config = config_from_dict(
        {"auth": {"secret": "hunter2-hunter2", "users": [{"name": "a", "password_hash": "h4sh"}]}}
    )
    text = repr(config)
    assert "hunter2" not in text
    assert "h4sh" not in text
    assert "secret='***'" in text
    assert config.auth.users == (UserConfig(name="a", password_hash="h4sh"),)
    assert repr(NodeConfig().auth).count("secret=''") == 1


@pytest.mark.parametrize(
    "flags", [[], ["--role", "master"], ["--role", "worker", "--masters", "127.0.0.1:7001"]]
)
def test_the_example_file_states_the_defaults(flags: list[str]) -> None:
    assert load("--config", str(EXAMPLE), *flags) == load(*flags)
