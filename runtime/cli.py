"""``podium``: the command-line entry point (grows with the API client).

For now it starts nodes (``podium node ...`` is ``python -m runtime.node ...``)
and hashes passwords for the ``[[auth.users]]`` table of the config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

from runtime.passwords import hash_password


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["node"]:
        from runtime.node import main as node_main

        return node_main(args[1:])
    parser = argparse.ArgumentParser(prog="podium", description="podium job scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("node", help="run a node (same flags as python -m runtime.node)")
    sub.add_parser("hash-password", help="read a password on stdin, print its scrypt hash")
    sub.add_parser("version", help="print the installed version")
    parsed = parser.parse_args(args)
    if parsed.command == "hash-password":
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            print("hash-password: no password on stdin", file=sys.stderr)
            return 2
        print(hash_password(password))
    elif parsed.command == "version":
        print(version("podium"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
