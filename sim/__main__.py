"""Entry point of ``python -m sim``; pins PYTHONHASHSEED first, since str hashing orders sets."""

from __future__ import annotations

import os
import sys

from sim.cli import main


def _pin_hash_seed() -> None:
    """Re-exec with PYTHONHASHSEED=0 unless already so: a seed must replay on any machine."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, sys.orig_argv, {**os.environ, "PYTHONHASHSEED": "0"})


if __name__ == "__main__":
    _pin_hash_seed()
    sys.exit(main())
