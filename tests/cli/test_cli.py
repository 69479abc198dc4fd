import subprocess
import sys

import pytest

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
