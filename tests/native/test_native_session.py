"""Native sessions in process: calls in flight together, auth, and hostile bytes on the port."""

from __future__ import annotations

import logging
import random

import msgpack
import pytest
import trio
import trustme

from client import AsyncClient, PodiumError
from tests.gateway.api import auth_config
from tests.native.helpers import native_node
from transport.client_wire import CLIENT_PROTOCOL, ClientHello, ClientRequest, GetOp, SubmitOp
from transport.codec import PROTOCOL_VERSION, encode
from transport.envelope import Hello
from transport.frames import frame
from transport.tls import client_context, server_context


async def test_many_calls_in_flight_on_one_connection_each_get_their_own_answer() -> None:
    async with native_node() as node, AsyncClient(node.url) as client:
        made: dict[int, str] = {}

        async def submit(n: int) -> None:
            made[n] = (await client.submit("noop", {"n": n}))["id"]

        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(submit, n)
        assert len(set(made.values())) == 200
        jobs = {n: await client.get(job_id) for n, job_id in made.items()}
        assert all(job["payload"] == {"n": n} for n, job in jobs.items())
        bad = [{"type": "noop", "priority": 12}, {"type": "noop"}]
        answers: list[dict[str, str] | PodiumError] = []

        async def submit_one(body: dict[str, object]) -> None:
            try:
                answers.append(await client.submit(str(body["type"]), **{
                    k: v for k, v in body.items() if k != "type"}))  # fmt: skip
            except PodiumError as exc:
                answers.append(exc)

        async with trio.open_nursery() as nursery:
            for body in bad:
                nursery.start_soon(submit_one, body)
        refused = [a for a in answers if isinstance(a, PodiumError)]
        assert len(refused) == 1 and refused[0].status == 400
        assert "priority must be an integer from 0 to 9, got 12" in refused[0].message
        # the HTTP body limit holds here too, for that submit alone
        with pytest.raises(PodiumError) as too_big:
            await client.submit("noop", {"blob": "x" * (1 << 20)})
        assert too_big.value.status == 413 and "byte limit" in too_big.value.message


async def test_auth_token_once_in_the_hello(caplog: pytest.LogCaptureFixture) -> None:
    async with native_node(auth_config()) as node:
        with caplog.at_level(logging.INFO, logger="podium.audit"):
            for token in (None, "not-a-jwt"):
                async with AsyncClient(node.url, token=token, timeout=5) as anonymous:
                    with pytest.raises(PodiumError) as refused:
                        await anonymous.stats()
                    assert refused.value.status == 401
        assert any(r.__dict__.get("event") == "denied" for r in caplog.records)
        async with AsyncClient(node.url, token=await node.token("bob")) as bob:
            job = await bob.submit("noop")
            assert (await bob.get(job["id"]))["id"] == job["id"]
            for forbidden in (
                bob.workers(),
                bob.retry(job["id"]),
                bob.submit("shell", {"argv": ["true"]}),
            ):
                with pytest.raises(PodiumError) as denied:
                    await forbidden
                assert denied.value.status == 403 and "may not" in denied.value.message
        async with AsyncClient(node.url, token=await node.token("ada")) as ada:
            assert (await ada.cluster())["leader"] == "m1"
            assert [w["id"] for w in await ada.workers()] == ["m1"]
        async with AsyncClient(node.url, token=await node.token("wes")) as wes:
            assert "jobs" in await wes.stats()
            with pytest.raises(PodiumError) as reader:
                await wes.submit("noop")
            assert reader.value.status == 403


async def send_raw(port: int, data: bytes, until: bytes | None = None) -> bytes:
    """Write ``data`` and read until the node closes the connection (or ``until`` is seen)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    received = b""
    try:
        await stream.send_all(data)
        with trio.move_on_after(0.5 if until is None else 5):
            while chunk := await stream.receive_some(65536):
                received += chunk
                if until is not None and until in received:
                    break
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()
    return received


HELLO = frame(encode(ClientHello(CLIENT_PROTOCOL, "")))
CASES = {
    "garbage after hello": HELLO + b"\xde\xad\xbe\xef" * 10,
    "oversized": HELLO + b"\xff\xff\xff\xff",
    "unknown tag": HELLO + frame(msgpack.packb([PROTOCOL_VERSION, "zzz", []])),
    "a peer's frame": HELLO + frame(encode(Hello("evil"))),
    "not an operation": HELLO + frame(encode(ClientRequest(1, Hello("evil")))),
    "bad op fields": HELLO + frame(msgpack.packb([PROTOCOL_VERSION, "n.request", [1, 2]])),
    "truncated": HELLO + frame(encode(ClientRequest(1, GetOp("x", False))))[:-3],
    "bad version": frame(encode(ClientHello(99, ""))),
}


async def test_each_bad_frame_closes_only_that_connection() -> None:
    async with native_node() as node, AsyncClient(node.url) as client:
        port = node.transport.listen_port
        assert port is not None
        before = (await client.submit("noop"))["id"]
        for data in CASES.values():
            await send_raw(port, data)
        # the connection that was already open, and the node, carry on
        assert (await client.get(before))["id"] == before
        reasons = set(node.transport.closed_connections)
        assert "bad input" in reasons and "client refused" in reasons
        assert any(r.startswith("truncated frame") for r in reasons)
        # a payload JSON cannot carry is a 400, not a crash of the master
        answer = await send_raw(port, HELLO)
        assert answer  # the node's hello and welcome came back before the close
        body = msgpack.packb({"type": "noop", "payload": {"raw": b"\x00"}})
        bytes_job = HELLO + frame(encode(ClientRequest(7, SubmitOp(body))))
        assert b"has no JSON form" in await send_raw(port, bytes_job, b"n.error")


async def test_random_bytes_after_a_client_hello_leave_the_node_serving() -> None:
    rng = random.Random(12)
    async with native_node() as node, AsyncClient(node.url) as client:
        port = node.transport.listen_port
        assert port is not None
        for _ in range(40):
            junk = rng.randbytes(rng.randint(1, 200))
            # sometimes a valid frame header in front, so the junk reaches the decoder
            prefix = b"" if rng.random() < 0.5 else len(junk).to_bytes(4, "big")
            await send_raw(port, HELLO + prefix + junk)
            assert (await client.cluster())["leader"] == "m1"
        assert sum(node.transport.closed_connections.values()) >= 40


async def test_with_tls_a_client_needs_a_certificate_from_the_cluster_ca() -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    server = server_context(require_client_cert=True)
    client, no_cert = client_context(), client_context()
    for ctx in (server, client):
        issued.configure_cert(ctx)
    for ctx in (server, client, no_cert):
        ca.configure_trust(ctx)
    async with native_node(server_ssl=server) as node:
        async with AsyncClient(node.url, tls=client, timeout=10) as trusted:
            with trio.fail_after(10):
                while (await trusted.cluster()).get("leader") != "m1":
                    await trio.sleep(0.02)
            assert (await trusted.submit("noop"))["status"] == "pending"
        async with AsyncClient(node.url, tls=no_cert, retry_deadline_s=0.5) as stranger:
            with pytest.raises(PodiumError) as refused:
                await stranger.stats()
            assert refused.value.status == 0
        assert node.transport.closed_connections["handshake failed"] >= 1
