"""``podium``: the command-line entry point (grows with the API client).

For now it starts nodes (``podium node ...`` is ``python -m runtime.node ...``)
and hashes passwords for the ``[[auth.users]]`` table of the config.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
import sys
from collections.abc import Sequence
from importlib.metadata import version

# scrypt cost: 16 MiB of memory and ~50 ms per hash, so guessing is expensive
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), self-describing so the cost can change later."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


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
