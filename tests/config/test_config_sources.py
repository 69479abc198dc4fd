import shlex
from pathlib import Path

import pytest

from runtime.config import NodeConfig, UserConfig, load_config

CLUSTER_PEERS = {"m1": "127.0.0.1:7001", "m2": "127.0.0.1:7002", "m3": "127.0.0.1:7003"}


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / "podium.toml"
    path.write_text(
        """
role = "master"
id = "m2"
listen = "127.0.0.1:7002"
http = "127.0.0.1:8002"
peers = { m1 = "127.0.0.1:7001", m2 = "127.0.0.1:7002", m3 = "127.0.0.1:7003" }
data = "/var/lib/podium/m2"
capacity = 8
handlers = ["myjobs.handlers", "other.jobs"]
policy = "least_loaded"
log_level = "debug"

[raft]
tick_s = 0.1
election_ticks = 20

[scheduler]
lease_s = 30
dead_letter = false

[auth]
enabled = true
secret = "s3cret-s3cret-s3cret-s3cret-s3cret"
shell_roles = ["admin", "worker"]

[[auth.users]]
name = "alice"
role = "admin"
password_hash = "scrypt$abc"

[[auth.users]]
name = "bob"
password_hash = "scrypt$def"
"""
    )
    return path


def test_toml_file_sets_every_kind_of_value(toml: Path) -> None:
    config = load_config(["--config", str(toml)], env={})
    assert config.role == "master"
    assert config.id == "m2"
    assert config.http.listen == "127.0.0.1:8002"
    assert config.peers == CLUSTER_PEERS
    assert config.data == Path("/var/lib/podium/m2")
    assert config.capacity == 8
    assert config.handlers == ("myjobs.handlers", "other.jobs")
    assert config.policy == "least_loaded"
    assert config.log_level == "debug"
    assert (config.raft.tick_s, config.raft.election_ticks) == (0.1, 20)
    assert config.raft.heartbeat_ticks == 1  # a section keeps defaults for keys not given
    assert config.scheduler.lease_s == 30
    assert config.scheduler.dead_letter is False
    assert config.auth.enabled
    assert config.auth.shell_roles == ("admin", "worker")
    assert config.auth.users == (
        UserConfig(name="alice", role="admin", password_hash="scrypt$abc"),
        UserConfig(name="bob", role="user", password_hash="scrypt$def"),
    )


def test_an_http_table_sets_the_address_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[http]\nlisten = ""\nmax_body_bytes = 4096\n')
    config = load_config(["--config", str(path)], env={})
    assert config.http.address is None
    assert config.http.max_body_bytes == 4096


def test_config_file_can_come_from_the_environment(toml: Path) -> None:
    config = load_config([], env={"PODIUM_CONFIG": str(toml)})
    assert config.id == "m2"


def test_config_flag_wins_over_podium_config(toml: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('id = "m9"\n')
    config = load_config(["--config", str(other)], env={"PODIUM_CONFIG": str(toml)})
    assert config.id == "m9"


def test_environment_values_take_their_declared_types() -> None:
    config = load_config(
        [],
        env={
            "PODIUM_CAPACITY": "8",
            "PODIUM_RAFT__TICK_S": "0.1",
            "PODIUM_SCHEDULER__LEASE_S": "5",
            "PODIUM_SCHEDULER__DEAD_LETTER": "false",
            "PODIUM_ID": "1",
            "PODIUM_PEERS": '{1 = "127.0.0.1:7001"}',
            "PODIUM_HANDLERS": '["a.b", "c"]',
            "PODIUM_TYPES": "email,report",
            "PODIUM_LOG_LEVEL": "warning",
            "PODIUM_AUTH__SECRET": '"quoted"',
            "PODIUM_DATA": "/tmp/x",
            "HOME": "/root",
        },
    )
    assert config.capacity == 8
    assert config.raft.tick_s == 0.1
    assert config.scheduler.lease_s == 5
    assert config.scheduler.dead_letter is False
    assert config.id == "1"  # a string setting keeps digits as text
    assert config.peers == {"1": "127.0.0.1:7001"}
    assert config.handlers == ("a.b", "c")
    assert config.types == ("email", "report")
    assert config.log_level == "warning"
    assert config.auth.secret == "quoted"
    assert config.data == Path("/tmp/x")


def test_environment_comma_forms_match_the_flags() -> None:
    env = {
        "PODIUM_ROLE": "master",
        "PODIUM_PEERS": "m1=127.0.0.1:7001,m2=127.0.0.1:7002,m3=127.0.0.1:7003",
    }
    assert load_config([], env=env).peers == CLUSTER_PEERS
    worker = load_config(
        [], env={"PODIUM_ROLE": "worker", "PODIUM_MASTERS": "127.0.0.1:7001, 127.0.0.1:7002"}
    )
    assert worker.masters == ("127.0.0.1:7001", "127.0.0.1:7002")


def test_environment_sets_whole_sections_and_single_keys() -> None:
    env = {
        "PODIUM_HTTP": "0.0.0.0:9000",
        "PODIUM_HTTP__MAX_BODY_BYTES": "100",
        "PODIUM_RAFT": "{tick_s = 0.2, election_ticks = 30}",
        "PODIUM_RAFT__TICK_S": "0.3",
        "PODIUM_AUTH__USERS": '[{name = "ops", password_hash = "h", role = "admin"}]',
    }
    config = load_config([], env=env)
    assert config.http.listen == "0.0.0.0:9000"
    assert config.http.max_body_bytes == 100
    # the single key wins over the table, whatever the environment's order
    assert (config.raft.tick_s, config.raft.election_ticks) == (0.3, 30)
    assert config.auth.users == (UserConfig(name="ops", password_hash="h", role="admin"),)


def test_an_empty_http_variable_turns_http_off() -> None:
    assert load_config([], env={"PODIUM_HTTP": ""}).http.address is None


def test_precedence_defaults_file_environment_flags(toml: Path) -> None:
    env = {"PODIUM_CAPACITY": "16", "PODIUM_LOG_LEVEL": "error", "PODIUM_RAFT__TICK_S": "0.5"}
    config = load_config(["--config", str(toml), "--capacity", "32"], env=env)
    assert config.capacity == 32  # flag over environment over file
    assert config.log_level == "error"  # environment over file
    assert config.raft.tick_s == 0.5  # environment over one key of the file's [raft]
    assert config.raft.election_ticks == 20  # file over defaults, beside an overridden key
    assert config.raft.max_batch == 256  # defaults


def test_a_flag_replaces_a_table_whole(toml: Path) -> None:
    config = load_config(["--config", str(toml), "--peers", "m2=127.0.0.1:7002"], env={})
    assert config.peers == {"m2": "127.0.0.1:7002"}


def test_design_master_command_line() -> None:
    argv = shlex.split(
        "--role master --id m1 --listen 127.0.0.1:7001 --http 127.0.0.1:8001"
        " --peers m1=127.0.0.1:7001,m2=127.0.0.1:7002,m3=127.0.0.1:7003 --data ./data/m1"
    )
    config = load_config(argv, env={})
    assert config == NodeConfig(
        role="master",
        id="m1",
        listen="127.0.0.1:7001",
        peers=CLUSTER_PEERS,
        data=Path("data/m1"),
    )
    assert config.http.listen == "127.0.0.1:8001"


def test_design_worker_command_line() -> None:
    argv = shlex.split(
        "--role worker --id w1 --masters 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --capacity 4"
    )
    config = load_config(argv, env={})
    assert config.role == "worker"
    assert config.masters == ("127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003")
    assert config.capacity == 4


def test_every_remaining_flag() -> None:
    config = load_config(
        [
            "--handlers=pkg.mod,pkg.other",
            "--types",
            "a,b",
            "--policy",
            "lru",
            "--profile",
            "development",
            "--log-level",
            "debug",
            "--http",
            "",
        ],
        env={},
    )
    assert config.handlers == ("pkg.mod", "pkg.other")
    assert config.types == ("a", "b")
    assert config.policy == "lru"
    assert config.profile == "development"
    assert config.log_level == "debug"
    assert config.http.address is None


def test_flags_accept_toml_list_and_table_syntax() -> None:
    config = load_config(
        ["--role", "master", "--peers", '{m1 = "127.0.0.1:7001"}', "--types", '["x"]'], env={}
    )
    assert config.peers == {"m1": "127.0.0.1:7001"}
    assert config.types == ("x",)


def test_argv_defaults_to_the_process_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["node", "--capacity", "3"])
    monkeypatch.setenv("PODIUM_ID", "m7")
    config = load_config()
    assert (config.capacity, config.id) == (3, "m7")


def test_help_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        load_config(["--help"], env={})
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for flag in [
        "--role", "--id", "--listen", "--http", "--peers", "--data", "--masters",
        "--capacity", "--handlers", "--types", "--policy", "--config", "--profile",
        "--log-level",
    ]:  # fmt: skip
        assert flag in out
