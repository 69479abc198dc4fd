import logging
import ssl
from pathlib import Path

import pytest
import trio
import trustme

from runtime.certs import init_certs
from tests.transport.helpers import address, note, running
from transport.tls import client_context, server_context


def contexts(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = server_context(require_client_cert=True)
    client = client_context()
    for ctx in (server, client):
        ca.configure_trust(ctx)
        cert.configure_cert(ctx)
    return server, client


async def test_mutual_tls_carries_messages() -> None:
    server, client = contexts(trustme.CA())
    async with trio.open_nursery() as nursery:
        async with running(nursery, "b", server_ssl=server, client_ssl=client) as (b, inbox):
            peers = {"b": address(b)}
            async with running(nursery, "a", peers, server_ssl=server, client_ssl=client) as (a, _):
                a.send("b", note("a", 1))
                await inbox.wait_for(1)
        nursery.cancel_scope.cancel()


async def test_peers_without_a_valid_certificate_are_refused() -> None:
    ca = trustme.CA()
    server, client = contexts(ca)
    no_cert = client_context()
    ca.configure_trust(no_cert)
    other_ca = trustme.CA()
    _, foreign = contexts(other_ca)
    ca.configure_trust(foreign)  # trusts our server, but its own cert is from another CA
    async with trio.open_nursery() as nursery:
        async with running(nursery, "b", server_ssl=server, client_ssl=client) as (b, inbox):
            for name, ctx in (("nocert", no_cert), ("foreign", foreign)):
                async with running(nursery, name, {"b": address(b)}, client_ssl=ctx) as (x, _):
                    x.send("b", note(name, 1))
                    await trio.sleep(0.5)
            assert inbox.received == []
            assert b.closed_connections["handshake failed"] >= 2
        nursery.cancel_scope.cancel()


async def test_certs_from_podium_certs_init_make_a_mutual_tls_cluster(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    written = init_certs(tmp_path, ["a", "b"])
    assert {p.name for p in written} == {
        "ca.pem", "ca-key.pem", "a.pem", "a-key.pem", "b.pem", "b-key.pem"
    }  # fmt: skip
    assert (tmp_path / "a-key.pem").stat().st_mode & 0o777 == 0o600

    def node(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
        files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / f"{name}.pem",
                 "key": tmp_path / f"{name}-key.pem"}  # fmt: skip
        return server_context(require_client_cert=True, **files), client_context(**files)

    b_server, b_client = node("b")
    a_server, a_client = node("a")
    _, stranger = contexts(trustme.CA())
    stranger.load_verify_locations(cafile=str(tmp_path / "ca.pem"))
    async with trio.open_nursery() as nursery:
        async with running(nursery, "b", server_ssl=b_server, client_ssl=b_client) as (b, inbox):
            peers = {"b": address(b)}
            async with running(nursery, "a", peers, server_ssl=a_server, client_ssl=a_client) as (
                a,
                _,
            ):
                a.send("b", note("a", 1))
                await inbox.wait_for(1)
            with caplog.at_level(logging.WARNING, logger="podium.audit"):
                async with running(nursery, "x", peers, client_ssl=stranger) as (x, _):
                    x.send("b", note("x", 1))
                    await trio.sleep(0.5)
            assert inbox.numbers() == [1]
        nursery.cancel_scope.cancel()
    refused = [r for r in caplog.records if r.name == "podium.audit"]
    assert refused and refused[0].__dict__["peer"].startswith("127.0.0.1:")


def test_certs_init_reuses_the_ca_to_add_a_node(tmp_path: Path) -> None:
    init_certs(tmp_path, ["m1"])
    ca = (tmp_path / "ca.pem").read_bytes()
    written = init_certs(tmp_path, ["w9"])
    assert (tmp_path / "ca.pem").read_bytes() == ca
    assert {p.name for p in written} == {"w9.pem", "w9-key.pem"}
