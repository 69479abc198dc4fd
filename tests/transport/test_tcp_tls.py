import ssl

import trio
import trustme

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
