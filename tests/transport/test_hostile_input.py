"""Garbage into a live node: the bad connection closes, everything else goes on."""

import msgpack
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transport.helpers import address, note, running
from transport.codec import PROTOCOL_VERSION, encode
from transport.envelope import Hello
from transport.frames import frame


async def send_raw(port: int, data: bytes) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        await stream.send_all(data)
        with trio.move_on_after(0.2):
            while await stream.receive_some(4096):
                pass  # until the node closes the connection
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


HELLO = frame(encode(Hello("evil")))
CASES = {
    "garbage": b"\xde\xad\xbe\xef" * 10,
    "oversized": b"\xff\xff\xff\xff",
    "not hello first": frame(encode(note("evil", 1))),
    "unknown tag": HELLO + frame(msgpack.packb([PROTOCOL_VERSION, "zzz", []])),
    "bad version": HELLO + frame(msgpack.packb([7, "env", []])),
    "bad fields": HELLO + frame(msgpack.packb([PROTOCOL_VERSION, "env", [1, 2, 3]])),
    "truncated": HELLO + frame(encode(note("evil", 1)))[:-3],
}


async def test_each_kind_of_bad_input_closes_only_that_connection() -> None:
    async with trio.open_nursery() as nursery:
        async with running(nursery, "victim") as (victim, inbox):
            port = address(victim)[1]
            async with running(nursery, "friend", {"victim": address(victim)}) as (friend, _):
                for n, data in enumerate(CASES.values()):
                    await send_raw(port, data)
                    friend.send("victim", note("friend", n))
                await inbox.wait_for(len(CASES))
                assert inbox.numbers() == list(range(len(CASES)))
                reasons = set(victim.closed_connections)
                assert {"bad input", "first frame was Envelope, not Hello"} <= reasons
                assert any(r.startswith("truncated frame") for r in reasons)
        nursery.cancel_scope.cancel()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    junk=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=4), hello=st.booleans()
)
def test_random_bytes_into_a_live_socket(junk: list[bytes], hello: bool) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            async with running(nursery, "victim") as (victim, inbox):
                prefix = HELLO if hello else b""
                await send_raw(address(victim)[1], prefix + b"".join(junk))
                async with running(nursery, "friend", {"victim": address(victim)}) as (f, _):
                    f.send("victim", note("friend", 42))
                    await inbox.wait_for(1)
                    assert 42 in inbox.numbers()
            nursery.cancel_scope.cancel()

    trio.run(main)
