import socket

import trio

from tests.transport.helpers import address, note, running
from transport.codec import encode
from transport.envelope import Hello
from transport.frames import frame


async def test_messages_arrive_in_order_both_ways() -> None:
    async with trio.open_nursery() as nursery:
        async with running(nursery, "b") as (b, b_inbox):
            async with running(nursery, "a", {"b": address(b)}) as (a, a_inbox):
                for n in range(500):
                    assert a.send("b", note("a", n))
                await b_inbox.wait_for(500)
                assert b_inbox.numbers() == list(range(500))
                # b never dialed a: it answers over the connection a opened
                assert b.send("a", note("b", 7))
                await a_inbox.wait_for(1)
                assert a_inbox.numbers() == [7]
        nursery.cancel_scope.cancel()


async def test_a_peer_dialed_by_address_is_reachable_by_its_name() -> None:
    async with trio.open_nursery() as nursery:
        async with running(nursery, "m1") as (m1, m1_inbox):
            key = f"127.0.0.1:{address(m1)[1]}"
            async with running(nursery, "w1", {key: address(m1)}) as (w1, _):
                assert w1.send(key, note("w1", 1))
                await m1_inbox.wait_for(1)
                assert w1.send("m1", note("w1", 2))
                await m1_inbox.wait_for(2)
                assert m1_inbox.numbers() == [1, 2]
        nursery.cancel_scope.cancel()


async def test_simultaneous_dials_settle_on_one_connection() -> None:
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    import random

    from tests.transport.helpers import Inbox
    from transport.tcp import TcpTransport

    a = TcpTransport(
        "a",
        listen=("127.0.0.1", ports[0]),
        peers={"b": ("127.0.0.1", ports[1])},
        rng=random.Random(1),
    )
    b = TcpTransport(
        "b",
        listen=("127.0.0.1", ports[1]),
        peers={"a": ("127.0.0.1", ports[0])},
        rng=random.Random(2),
    )
    a_inbox, b_inbox = Inbox(), Inbox()
    async with trio.open_nursery() as nursery:
        await nursery.start(a.run, a_inbox.deliver)
        await nursery.start(b.run, b_inbox.deliver)
        for n in range(50):
            a.send("b", note("a", n))
            b.send("a", note("b", n))
            await trio.sleep(0.01)
        await a_inbox.wait_for(40)
        await b_inbox.wait_for(40)
        await trio.sleep(0.3)
        assert a._links["b"].stream is not None and b._links["a"].stream is not None
        # both ends settled on the same single connection: one dialed it, the other accepted
        assert a._links["b"].outbound != b._links["a"].outbound
        nursery.cancel_scope.cancel()


async def test_reconnects_after_the_peer_restarts() -> None:
    async with trio.open_nursery() as nursery:
        async with running(nursery, "b") as (b, b_inbox):
            port = address(b)[1]
            async with running(nursery, "a", {"b": ("127.0.0.1", port)}) as (a, _):
                a.send("b", note("a", 1))
                await b_inbox.wait_for(1)
        # b is gone; a new b on the same port gets what a sends from now on
        async with running(nursery, "a2", {"b": ("127.0.0.1", port)}) as (a2, _):
            import random

            from tests.transport.helpers import Inbox
            from transport.tcp import TcpTransport

            b2 = TcpTransport("b", listen=("127.0.0.1", port), peers={}, rng=random.Random(3))
            inbox2 = Inbox()
            await nursery.start(b2.run, inbox2.deliver)
            with trio.fail_after(10):
                while not inbox2.received:
                    a2.send("b", note("a2", 2))
                    await trio.sleep(0.05)
            assert inbox2.numbers()[0] == 2
        nursery.cancel_scope.cancel()


async def test_unknown_destination_and_full_queue_drop() -> None:
    async with trio.open_nursery() as nursery:
        # a peer address nobody listens on: messages queue, then overflow
        async with running(nursery, "a", {"b": ("127.0.0.1", 9)}, queue_size=3) as (a, _):
            assert not a.send("nobody", note("a", 0))
            assert [a.send("b", note("a", n)) for n in range(5)] == [True] * 3 + [False] * 2
            assert a.dropped == 3
        nursery.cancel_scope.cancel()


async def test_hello_from_a_stranger_registers_it() -> None:
    async with trio.open_nursery() as nursery:
        async with running(nursery, "m") as (m, inbox):
            stream = await trio.open_tcp_stream(*address(m))
            await stream.send_all(frame(encode(Hello("stranger"))))
            await stream.send_all(frame(encode(note("stranger", 5))))
            await inbox.wait_for(1)
            assert m.send("stranger", note("m", 6))
            await stream.aclose()
        nursery.cancel_scope.cancel()
