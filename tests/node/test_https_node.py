"""HTTPS and ownership on a real node: certificates from ``podium certs init``, the
clients with and without the CA, the production profile without a certificate, and
two users through the CLI."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client.api import Client, PodiumError
from runtime.certs import init_certs
from runtime.passwords import hash_password
from tests.ports import free_port

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
PASSWORDS = {"ada": "ada-pw", "bob": "bob-pw", "cy": "cy-pw"}
ROLES = {"ada": "admin", "bob": "user", "cy": "user"}


def podium(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from client.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PODIUM_TOKEN_FILE": os.devnull, **(env or {})},
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A dev node serving HTTPS with auth on: (its https URL, the CA bundle)."""
    tmp = tmp_path_factory.mktemp("https")
    init_certs(tmp / "certs", [], http_hosts=["127.0.0.1", "localhost"])
    users = "".join(
        f'[[auth.users]]\nname = "{u}"\nrole = "{ROLES[u]}"\n'
        f'password_hash = "{hash_password(pw)}"\n'
        for u, pw in PASSWORDS.items()
    )
    config = tmp / "podium.toml"
    config.write_text(
        f'[http]\ncert = "{tmp}/certs/http.pem"\nkey = "{tmp}/certs/http-key.pem"\n'
        f'[auth]\nenabled = true\nsecret = "{SECRET}"\n{users}'
    )
    http, listen = free_port(), free_port()
    log = (tmp / "node.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.node", "--config", str(config),
         "--http", f"127.0.0.1:{http}", "--listen", f"127.0.0.1:{listen}",
         "--data", str(tmp / "data")],
        stdout=log, stderr=log,
    )  # fmt: skip
    url, ca = f"https://127.0.0.1:{http}", tmp / "certs" / "ca.pem"
    trust = ssl.create_default_context(cafile=str(ca))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", verify=trust, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                tmp / "node.log"
            ).read_text()
            time.sleep(0.2)
        yield url, ca
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def token(url: str, ca: Path, user: str) -> str:
    with Client(url, ca=ca) as client:
        return client.login(user, PASSWORDS[user])


def test_the_client_verifies_the_api_against_the_ca(node: tuple[str, Path]) -> None:
    url, ca = node
    with Client(url, ca=ca, token=token(url, ca, "ada")) as client:
        assert client.stats()["jobs"] is not None
    started = time.monotonic()
    with Client(url, retry_deadline_s=10) as untrusting, pytest.raises(PodiumError) as caught:
        untrusting.login("ada", PASSWORDS["ada"])
    # said at once, not retried until the deadline
    assert time.monotonic() - started < 5
    assert "cannot verify the TLS certificate" in caught.value.message
    assert "--ca" in caught.value.message


def test_the_cli_takes_the_ca_from_the_flag_or_the_environment(node: tuple[str, Path]) -> None:
    url, ca = node
    bob = token(url, ca, "bob")
    flag = podium("--url", url, "--ca", str(ca), "--token", bob, "list")
    assert flag.returncode == 0, flag.stderr
    env = podium("--url", url, "--token", bob, "list", env={"PODIUM_CA": str(ca)})
    assert env.returncode == 0, env.stderr
    bare = podium("--url", url, "--token", bob, "list", env={"PODIUM_CA": ""})
    assert bare.returncode != 0
    assert "cannot verify the TLS certificate" in " ".join(bare.stderr.split())


def test_users_see_only_their_own_jobs_through_the_cli(node: tuple[str, Path]) -> None:
    url, ca = node
    tokens = {user: token(url, ca, user) for user in PASSWORDS}

    def cli(user: str, *args: str) -> subprocess.CompletedProcess[str]:
        return podium("--url", url, "--ca", str(ca), "--token", tokens[user], *args)

    made = cli("bob", "submit", "noop", "--delay", "600", "-q")
    assert made.returncode == 0, made.stderr
    job_id = made.stdout.strip()
    own = cli("bob", "status", job_id, "--json")
    assert own.returncode == 0 and '"owner": "bob"' in own.stdout
    other = cli("cy", "status", job_id)
    assert other.returncode != 0 and "not found" in other.stderr
    assert job_id not in cli("cy", "list").stdout
    assert cli("cy", "cancel", job_id).returncode != 0
    assert job_id in cli("ada", "list").stdout
    cancelled = cli("bob", "cancel", job_id)
    assert cancelled.returncode == 0, cancelled.stderr


def test_production_without_an_https_certificate_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    init_certs(tmp_path / "certs", ["m1"])
    certs = tmp_path / "certs"
    config = tmp_path / "podium.toml"
    config.write_text(
        'profile = "production"\n'
        f'[tls]\nenabled = true\nca = "{certs}/ca.pem"\ncert = "{certs}/m1.pem"\n'
        f'key = "{certs}/m1-key.pem"\n'
        f'[auth]\nenabled = true\nsecret = "{SECRET}"\n'
        f'[[auth.users]]\nname = "ada"\nrole = "admin"\npassword_hash = "scrypt$x"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "runtime.node", "--config", str(config),
         "--data", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "config error: http.cert and http.key must name PEM files in the production profile "
        "(the API would carry passwords and tokens in clear) (from defaults)"
    ]
