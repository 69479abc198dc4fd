"""Operator commands that need no running cluster: ``python -m runtime.cli ...``.

``node`` (``python -m runtime.node``), ``hash-password`` (for ``[[auth.users]]``),
``certs init`` (a CA, node certificates for mutual TLS, and the HTTPS API's) and ``version``.
The ``podium`` command (:mod:`client.cli`) offers these too, beside the
commands that talk to the API.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from runtime.passwords import hash_password


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["node"]:
        from runtime.node import main as node_main

        return node_main(args[1:])
    parser = argparse.ArgumentParser(prog="podium", description="podium job scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("node", help="run a node (same flags as python -m runtime.node)")
    sub.add_parser(
        "hash-password",
        help="prompt for a password (or read one line of stdin) and print its scrypt hash",
    )
    sub.add_parser("version", help="print the installed version")
    certs = sub.add_parser("certs", help="certificates for mutual TLS and the HTTPS API")
    certs_sub = certs.add_subparsers(dest="certs_command", required=True)
    init = certs_sub.add_parser(
        "init", help="write a cluster CA, one cert per node and (--http-hosts) one for HTTPS"
    )
    init.add_argument("--out", type=Path, default=Path("certs"), help="directory (./certs)")
    init.add_argument("--nodes", default="", help="node ids, comma-separated: m1,m2,m3,w1,w2")
    init.add_argument(
        "--http-hosts",
        default="",
        metavar="HOSTS",
        help="also write http.pem and http-key.pem for the HTTPS API, valid for these "
        "comma-separated hosts clients dial (e.g. 127.0.0.1,localhost,podium.example.com)",
    )
    init.add_argument(
        "--hosts",
        default="127.0.0.1,localhost",
        help="addresses peers dial, put in every cert (default 127.0.0.1,localhost)",
    )
    init.add_argument("--days", type=int, default=825, help="node certificate lifetime")
    parsed = parser.parse_args(args)
    if parsed.command == "hash-password":
        password = _read_password()
        if password is None:
            return 2
        print(hash_password(password))
    elif parsed.command == "version":
        print(version("podium"))
    elif parsed.command == "certs":
        from runtime.certs import init_certs

        nodes, hosts, http_hosts = (
            [n.strip() for n in text.split(",") if n.strip()]
            for text in (parsed.nodes, parsed.hosts, parsed.http_hosts)
        )
        if not nodes and not http_hosts:
            init.error("give --nodes, --http-hosts or both")
        try:
            written = init_certs(
                parsed.out, nodes, hosts=hosts, days=parsed.days, http_hosts=http_hosts
            )
        except (OSError, ValueError) as exc:
            # an --out that cannot be written, a host name a certificate cannot hold
            print(f"podium certs init: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(path)
        if nodes:
            print(
                f"[tls] enabled = true, ca = {parsed.out / 'ca.pem'}, and per node "
                f"cert = {parsed.out}/<id>.pem, key = {parsed.out}/<id>-key.pem",
                file=sys.stderr,
            )
        if http_hosts:
            print(
                f"[http] cert = {parsed.out / 'http.pem'}, key = {parsed.out / 'http-key.pem'}; "
                f"clients: podium --ca {parsed.out / 'ca.pem'} --url https://HOST:PORT",
                file=sys.stderr,
            )
    return 0


def _read_password() -> str | None:
    """A person at a terminal is prompted twice with echo off (a typo would otherwise be
    hashed and found out only at the first failed login); a pipe gives its first line.
    None, said on stderr, when there is no password to hash."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if password and getpass.getpass("Again: ") != password:
            print("hash-password: the two passwords differ", file=sys.stderr)
            return None
    if not password:
        print("hash-password: no password given", file=sys.stderr)
        return None
    return password


if __name__ == "__main__":
    sys.exit(main())
