from pathlib import Path

import pytest

from runtime.config import ConfigError, config_from_dict, load_config


def problems(argv: list[str] | None = None, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(argv or [], env=env or {})
    return list(caught.value.problems)


def one_problem(argv: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    found = problems(argv, env)
    assert len(found) == 1, found
    return found[0]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "podium.toml"
    path.write_text(text)
    return str(path)


def test_the_message_names_key_value_and_source() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config([], env={"PODIUM_RAFT__TICK_S": "-1"})
    assert str(caught.value) == (
        "config error: raft.tick_s must be a positive number (got -1 from PODIUM_RAFT__TICK_S)"
    )


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(["--capacity", "0"], env={"PODIUM_RAFT__TICK_S": "0"})
    assert str(caught.value) == (
        "config error: 2 problems:\n"
        "  - capacity must be at least 1 (got 0 from --capacity)\n"
        "  - raft.tick_s must be a positive number (got 0 from PODIUM_RAFT__TICK_S)"
    )


def test_misspelled_keys_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "capacty = 3\n[raft]\ntick = 0.1\n[tsl]\nenabled = true\n")
    assert sorted(problems(["--config", path])) == sorted(
        [
            f"capacty is not a setting; did you mean capacity? (from {path})",
            f"raft.tick is not a setting; did you mean raft.tick_s? (from {path})",
            f"tsl is not a setting; did you mean tls? (from {path})",
        ]
    )


def test_misspelled_key_in_a_user_entry(tmp_path: Path) -> None:
    path = write(tmp_path, '[[auth.users]]\nname = "a"\npassword = "x"\n')
    assert sorted(problems(["--config", path])) == [
        f"auth.users[0].password is not a setting; did you mean auth.users[0].password_hash? "
        f"(from {path})",
        f"auth.users[0].password_hash is required (from {path})",
    ]


def test_misspelled_environment_variables() -> None:
    assert one_problem(env={"PODIUM_CAPACTY": "3"}) == (
        "capacty is not a setting; did you mean capacity? (from PODIUM_CAPACTY)"
    )
    assert one_problem(env={"PODIUM_RAFT__TICKS": "3"}) == (
        "raft.ticks is not a setting; did you mean raft.tick_s? (from PODIUM_RAFT__TICKS)"
    )
    assert one_problem(env={"PODIUM_PEERS__M2": "x:1"}) == (
        "PODIUM_PEERS__M2 is not a podium setting (from the environment)"
    )


def test_unknown_flags_and_missing_values() -> None:
    assert "unrecognized arguments: --capactiy" in one_problem(["--capactiy", "3"])
    assert "--capacity: expected one argument" in one_problem(["--capacity"])
    # no abbreviations: a later flag must not change what an old command line means
    assert "unrecognized arguments: --cap" in one_problem(["--cap", "3"])


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            [],
            {"PODIUM_CAPACITY": "lots"},
            'capacity must be an integer (got "lots" from PODIUM_CAPACITY)',
        ),
        (["--capacity", "2.5"], {}, "capacity must be an integer (got 2.5 from --capacity)"),
        (["--capacity", "true"], {}, "capacity must be an integer (got true from --capacity)"),
        (
            [],
            {"PODIUM_SCHEDULER__DEAD_LETTER": "no"},
            'scheduler.dead_letter must be true or false (got "no" from '
            "PODIUM_SCHEDULER__DEAD_LETTER)",
        ),
        (
            ["--role", "boss"],
            {},
            'role must be one of dev, master, worker (got "boss" from --role)',
        ),
        (
            ["--policy", "fastest"],
            {},
            "policy must be one of round_robin, least_loaded, "
            'capacity_aware, random, lru (got "fastest" from --policy)',
        ),
        (
            ["--log-level", "loud"],
            {},
            "log_level must be one of debug, info, warning, error, "
            'critical (got "loud" from --log-level)',
        ),
        (
            ["--profile", "prod"],
            {},
            'profile must be one of development, production (got "prod" from --profile)',
        ),
        (
            ["--listen", "7001"],
            {},
            'listen must be host:port, e.g. 127.0.0.1:7001 (got "7001" from --listen)',
        ),
        (
            ["--http", "127.0.0.1:80800"],
            {},
            'http.listen must have a port between 0 and 65535 (got "127.0.0.1:80800" from --http)',
        ),
        (
            ["--id", "m 1"],
            {},
            "id must be 1-64 letters, digits, '.', '_' or '-', starting with "
            'a letter or digit (got "m 1" from --id)',
        ),
        (
            ["--handlers", "my-jobs"],
            {},
            "handlers[0] must be a dotted Python module name like "
            'myjobs.handlers (got "my-jobs" from --handlers)',
        ),
        (["--types", "a,b,a"], {}, 'types[2] is listed twice (got "a" from --types)'),
        (
            [],
            {"PODIUM_DATA": ""},
            'data must be a path (a non-empty string) (got "" from PODIUM_DATA)',
        ),
        (
            [],
            {"PODIUM_RAFT__SNAPSHOT_EVERY": "0"},
            "raft.snapshot_every must be at least 1 (got 0 from PODIUM_RAFT__SNAPSHOT_EVERY)",
        ),
        (
            [],
            {"PODIUM_SCHEDULER__BACKOFF_JITTER": "1.5"},
            "scheduler.backoff_jitter must be between 0 and 1 (got 1.5 from "
            "PODIUM_SCHEDULER__BACKOFF_JITTER)",
        ),
        (
            [],
            {"PODIUM_HTTP__MAX_BODY_BYTES": "0"},
            "http.max_body_bytes must be at least 1 (got 0 from PODIUM_HTTP__MAX_BODY_BYTES)",
        ),
        (
            [],
            {"PODIUM_AUTH__SHELL_ROLES": "admin,root"},
            'auth.shell_roles[1] must be one of admin, user, worker (got "root" from '
            "PODIUM_AUTH__SHELL_ROLES)",
        ),
        ([], {"PODIUM_RAFT": "fast"}, 'raft must be a table (got "fast" from PODIUM_RAFT)'),
        (
            [],
            {"PODIUM_TYPES": "[1, 2"},
            'types must be a TOML list like ["a", "b"] or a comma '
            'list like a,b (got "[1, 2" from PODIUM_TYPES)',
        ),
    ],
)
def test_bad_values_name_the_key_and_the_source(
    argv: list[str], env: dict[str, str], expected: str
) -> None:
    assert one_problem(argv, env) == expected


def test_bad_values_in_the_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'masters = "127.0.0.1:7001"\n[scheduler]\nlease_s = "10s"\n')
    assert sorted(problems(["--config", path, "--role", "worker"])) == [
        f'masters must be a list (got "127.0.0.1:7001" from {path})',
        f'scheduler.lease_s must be a number (got "10s" from {path})',
    ]


def test_peer_entries_are_checked_one_by_one() -> None:
    found = problems(
        ["--role", "master", "--peers", "m1=127.0.0.1:7001,m2=nowhere,m3=127.0.0.1:7001"]
    )
    assert found == [
        'peers.m2 must be host:port, e.g. 127.0.0.1:7001 (got "nowhere" from --peers)',
        'peers.m3 has the same value as m1 (got "127.0.0.1:7001" from --peers)',
    ]
    assert one_problem(["--peers", "m1"]) == (
        "peers must be id=host:port pairs separated by commas, "
        'e.g. m1=127.0.0.1:7001,m2=127.0.0.1:7002 (got "m1" from --peers)'
    )
    assert one_problem(["--peers", "m1=127.0.0.1:7001,x y=127.0.0.1:7002"]) == (
        "peers key 'x y' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter "
        'or digit (got {m1 = "127.0.0.1:7001", x y = "127.0.0.1:7002"} from --peers)'
    )


def test_a_master_must_be_among_its_peers() -> None:
    assert one_problem(["--role", "master", "--id", "m4", "--peers", "m1=127.0.0.1:7001"]) == (
        "peers must include this node's id 'm4': a master is one of its own peers "
        '(got {m1 = "127.0.0.1:7001"} from --peers)'
    )


def test_a_worker_needs_masters_and_no_peers() -> None:
    assert one_problem(["--role", "worker"]) == (
        "masters must list at least one master for a worker, e.g. --masters 127.0.0.1:7001 "
        "(got [] from defaults)"
    )
    assert one_problem(
        ["--role", "worker", "--masters", "127.0.0.1:7001"],
        env={"PODIUM_PEERS": "m1=127.0.0.1:7001"},
    ) == (
        "peers is for masters; a worker finds the cluster through masters "
        '(got {m1 = "127.0.0.1:7001"} from PODIUM_PEERS)'
    )


def test_masters_is_for_workers_only() -> None:
    assert one_problem(["--masters", "127.0.0.1:7002"]) == (
        "masters is for workers; a dev node finds the other masters through peers "
        '(got ["127.0.0.1:7002"] from --masters)'
    )


def test_duplicate_masters() -> None:
    assert one_problem(["--role", "worker", "--masters", "a:1,a:1"]) == (
        'masters[1] is listed twice (got "a:1" from --masters)'
    )


def test_timings_must_keep_their_order() -> None:
    found = problems(
        env={
            "PODIUM_RAFT__HEARTBEAT_TICKS": "10",
            "PODIUM_SCHEDULER__HEARTBEAT_S": "20",
            "PODIUM_SCHEDULER__BACKOFF_CAP_S": "0.5",
        }
    )
    assert found == [
        "raft.heartbeat_ticks must be less than raft.election_ticks (10), or followers start "
        "elections while the leader is healthy (got 10 from PODIUM_RAFT__HEARTBEAT_TICKS)",
        "scheduler.heartbeat_s must be less than scheduler.lease_s (10.0), or healthy workers "
        "lose their leases (got 20 from PODIUM_SCHEDULER__HEARTBEAT_S)",
        "scheduler.backoff_base_s must be at most scheduler.backoff_cap_s (0.5), as the cap "
        "bounds every wait (got 1.0 from defaults)",
    ]


def test_enabled_auth_needs_a_secret_and_users() -> None:
    found = problems(env={"PODIUM_AUTH__ENABLED": "true"})
    assert found == [
        "auth.secret must be at least 32 bytes when auth.enabled is true (got 0 bytes from "
        "defaults)",
        "auth.users must list at least one user when auth.enabled is true (got [] from defaults)",
    ]


def test_user_names_are_unique() -> None:
    with pytest.raises(ConfigError, match=r"auth\.users\[1\]\.name is used by two users"):
        config_from_dict(
            {"auth": {"users": [{"name": "a", "password_hash": "x"}] * 2}}, source="test"
        )


def test_enabled_tls_needs_existing_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    found = problems(
        env={
            "PODIUM_TLS__ENABLED": "true",
            "PODIUM_TLS__CA": str(ca),
            "PODIUM_TLS__CERT": str(tmp_path / "missing.pem"),
        }
    )
    assert found == [
        f'tls.cert must name an existing file (got "{tmp_path}/missing.pem" from PODIUM_TLS__CERT)',
        "tls.key must name a PEM file when tls.enabled is true (from defaults)",
    ]


def test_production_refuses_to_start_and_lists_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(["--profile", "production"], env={"PODIUM_AUTH__SECRET": "too-short"})
    assert str(caught.value) == (
        "config error: 8 problems:\n"
        "  - auth.enabled must be true in the production profile (got false from defaults)\n"
        "  - auth.secret must be at least 32 bytes in the production profile "
        "(got 9 bytes from PODIUM_AUTH__SECRET)\n"
        "  - auth.users must list at least one user in the production profile "
        "(got [] from defaults)\n"
        "  - tls.enabled must be true in the production profile (got false from defaults)\n"
        "  - tls.ca must name a PEM file in the production profile (from defaults)\n"
        "  - tls.cert must name a PEM file in the production profile (from defaults)\n"
        "  - tls.key must name a PEM file in the production profile (from defaults)\n"
        "  - http.cert and http.key must name PEM files in the production profile "
        "(the API would carry passwords and tokens in clear) (from defaults)"
    )
    assert "too-short" not in str(caught.value)


def test_production_starts_with_auth_and_tls(tmp_path: Path) -> None:
    for name in ("ca", "cert", "key"):
        (tmp_path / f"{name}.pem").write_text("pem")
    path = write(
        tmp_path,
        f"""
profile = "production"
[auth]
enabled = true
[[auth.users]]
name = "ops"
role = "admin"
password_hash = "scrypt$x"
[tls]
enabled = true
ca = "{tmp_path}/ca.pem"
cert = "{tmp_path}/cert.pem"
key = "{tmp_path}/key.pem"
[http]
cert = "{tmp_path}/cert.pem"
key = "{tmp_path}/key.pem"
""",
    )
    config = load_config(["--config", path], env={"PODIUM_AUTH__SECRET": "x" * 32})
    assert config.profile == "production"
    assert config.tls.cert == tmp_path / "cert.pem"


def test_secrets_are_never_echoed() -> None:
    found = one_problem(env={"PODIUM_AUTH__USERS": '[{name = "a", password_hash = 5}]'})
    assert found == (
        "auth.users[0].password_hash must be a string (got a hidden value from PODIUM_AUTH__USERS)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "does not exist"),
        ("capacity = ", "is not valid TOML: Invalid value (at end of document)"),
    ],
)
def test_unreadable_config_files(tmp_path: Path, text: str | None, expected: str) -> None:
    path = tmp_path / "podium.toml"
    if text is not None:
        path.write_text(text)
    assert one_problem(["--config", str(path)]) == f"config file {str(path)!r} {expected}"


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    assert "cannot be read" in one_problem(["--config", str(tmp_path)])


def test_a_broken_inline_table() -> None:
    assert one_problem(env={"PODIUM_PEERS": "{m1 = "}) == (
        'peers must be a TOML inline table like {m1 = "127.0.0.1:7001"} '
        '(got "{m1 = " from PODIUM_PEERS)'
    )


def test_a_later_key_replaces_a_section_given_as_a_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, "raft = 5\n")
    assert one_problem(["--config", path]) == f"raft must be a table (got 5 from {path})"
    config = load_config(["--config", path], env={"PODIUM_RAFT__TICK_S": "0.2"})
    assert config.raft.tick_s == 0.2


def test_dict_configs_name_their_source() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"capacity": 0})
    assert caught.value.problems == ("capacity must be at least 1 (got 0 from the given settings)",)
