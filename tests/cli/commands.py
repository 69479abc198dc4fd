"""Where the installed ``podium`` command is, and how a test runs and stops it as a person
would from a shell: with this checkout's code, in a process group of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the venv running these tests: `make test` runs them with the one `make run` installs
VENV = Path(sys.executable).parent.parent
PODIUM = VENV / "bin" / "podium"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def user_env(**extra: str) -> dict[str, str]:
    """A shell's environment for the installed commands, importing this checkout's code
    (the console scripts run whatever tree the venv was installed from otherwise)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", **extra}


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the process group we started (make and its node), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
