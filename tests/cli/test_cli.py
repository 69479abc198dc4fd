import subprocess
import sys

import pytest

from client import cli
from runtime.cli import main
from runtime.passwords import hash_password, verify_password


def test_hash_verifies_and_is_salted() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert hash_password("correct horse") != stored
    assert not verify_password("x", "garbage")


def test_hash_password_reads_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert verify_password("s3cret", done.stdout.strip())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


def test_podium_purge_refuses_an_empty_status_without_asking_the_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # nothing listens on port 9: a request would exit 6 (unreachable), not 2
    assert cli.main(["--url", "http://127.0.0.1:9", "purge", "--status", " , "]) == cli.EXIT[400]
    assert "--status needs a status" in capsys.readouterr().err


def test_podium_list_order_is_asc_or_desc(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["list", "--order", "sideways"])
    assert refused.value.code == 2
    assert "invalid choice: 'sideways'" in capsys.readouterr().err


def test_podium_help_says_a_bare_date_is_midnight_utc(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("purge", "list"):
        with pytest.raises(SystemExit) as shown:
            cli.main([command, "--help"])
        assert shown.value.code == 0
        assert "2026-11-01 is midnight UTC" in " ".join(capsys.readouterr().out.split())


def test_a_malformed_podium_url_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for url in ("podium://host", "ftp://x", "podium://"):
        assert cli.main(["--url", url, "list"]) == cli.EXIT[400]
        err = capsys.readouterr().err
        assert err.startswith("podium: --url:") and "host:port" in err
        assert "Traceback" not in err and err.count("\n") == 1
