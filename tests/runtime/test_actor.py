import random

import pytest
import trio

from runtime.actor import Actor, ActorRef, PendingReply
from runtime.errors import AskError, AskTimeout
from runtime.system import ActorSystem
from tests.runtime.messages import Boom, Ping, Pong
from transport.codec import Message


class Echo(Actor):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Boom):
            raise RuntimeError(msg.reason)
        assert isinstance(msg, Ping)
        self.seen.append(msg.n)
        return Pong(msg.n)


class Silent(Actor):
    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        await trio.sleep_forever()
        return None


def make_system() -> ActorSystem:
    return ActorSystem("n1", None, random.Random(1))


async def test_send_is_delivered_in_order() -> None:
    system = make_system()
    echo = Echo()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "echo", echo)
        ref = system.ref("n1", "echo")
        for n in range(10):
            await ref.send(Ping(n))
        assert await ref.ask(Ping(99)) == Pong(99)
        assert echo.seen == [*range(10), 99]
        nursery.cancel_scope.cancel()


async def test_ask_missing_actor_is_a_clear_error() -> None:
    system = make_system()
    with pytest.raises(AskError, match="no actor 'ghost' on node 'n1'"):
        await system.ref("n1", "ghost").ask(Ping(1))


async def test_ask_timeout_names_target_and_message(autojump_clock: trio.abc.Clock) -> None:
    system = make_system()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "silent", Silent())
        with pytest.raises(AskTimeout, match=r"silent@n1 did not answer Ping within 2s"):
            await system.ref("n1", "silent").ask(Ping(1), timeout=2)
        nursery.cancel_scope.cancel()


async def test_handler_error_reaches_asker_and_crashes_actor() -> None:
    system = make_system()
    with pytest.raises(ExceptionGroup) as crash:
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run_actor, "echo", Echo())
            with pytest.raises(AskError, match="RuntimeError: kaput"):
                await system.ref("n1", "echo").ask(Boom("kaput"))
    assert crash.group_contains(RuntimeError, match="kaput")
    assert not system.has_actor("echo")


async def test_send_to_unknown_actor_is_dropped_and_counted() -> None:
    system = make_system()
    await system.ref("n1", "nobody").send(Ping(1))
    assert system.dropped == 1
    assert not system.ref("n1", "nobody").try_send(Ping(2))
    assert system.dropped == 2


async def test_full_mailbox_pushes_back() -> None:
    class Tiny(Silent):
        mailbox_size = 1

    system = make_system()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "tiny", Tiny())
        ref = system.ref("n1", "tiny")
        await ref.send(Ping(1))  # taken by the handler, which never returns
        await trio.testing.wait_all_tasks_blocked()
        await ref.send(Ping(2))  # fills the one-slot mailbox
        assert not ref.try_send(Ping(3))
        with trio.move_on_after(0.05) as waited:
            await ref.send(Ping(4))
        assert waited.cancelled_caught
        nursery.cancel_scope.cancel()


async def test_duplicate_actor_name_is_refused() -> None:
    system = make_system()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "echo", Echo())
        with pytest.raises(ValueError, match="already runs"):
            await system.run_actor("echo", Echo())
        nursery.cancel_scope.cancel()


class Clocked(Actor):
    def __init__(self) -> None:
        self.fired: list[tuple[int, float]] = []

    async def on_start(self) -> None:
        self.start = self.ctx.now()
        self.ctx.send_after(1.5, Ping(-1))
        self.ctx.every(1.0, Ping(0))
        self.cancelled = self.ctx.send_after(2.5, Ping(-2))

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, Ping)
        self.fired.append((msg.n, self.ctx.now() - self.start))
        if msg.n == -1:
            self.cancelled.cancel()
        if len(self.fired) == 5:
            self.ctx.stop()
        return None


async def test_timers_fire_on_time_and_die_with_the_actor(autojump_clock: trio.abc.Clock) -> None:
    system = make_system()
    actor = Clocked()
    await system.run_actor("clocked", actor)
    assert actor.fired == [(0, 1.0), (-1, 1.5), (0, 2.0), (0, 3.0), (0, 4.0)]
    assert not system.has_actor("clocked")
    await trio.sleep(10)  # no timer outlives its actor


async def test_every_rejects_a_nonsense_period() -> None:
    class Bad(Actor):
        async def on_start(self) -> None:
            self.ctx.every(0, Ping(0))

    with pytest.raises(ValueError, match="positive"):
        await make_system().run_actor("bad", Bad())


async def test_each_actor_gets_its_own_seeded_rng() -> None:
    async def draws(seed: int) -> list[int]:
        system = ActorSystem("n1", None, random.Random(seed))
        out: list[int] = []

        class Drawer(Actor):
            async def on_start(self) -> None:
                out.append(self.ctx.rng.randrange(1 << 30))
                self.ctx.stop()

        for name in ("a", "b"):
            await system.run_actor(name, Drawer())
        return out

    assert await draws(7) == await draws(7)
    assert await draws(7) != await draws(8)
    first, second = await draws(7)
    assert first != second


class Later(Actor):
    """Parks asks and answers them all when told to."""

    def __init__(self) -> None:
        self.parked: list[tuple[int, PendingReply]] = []

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, Ping)
        if msg.n >= 0:
            self.parked.append((msg.n, self.ctx.defer_reply()))
            return None
        for n, pending in self.parked:
            pending.fail("odd") if n % 2 else pending.resolve(Pong(n))
        return Pong(len(self.parked))


async def test_deferred_replies_answer_asks_later() -> None:
    system = make_system()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "later", Later())
        ref = system.ref("n1", "later")
        answers: dict[int, object] = {}

        async def ask(n: int) -> None:
            try:
                answers[n] = await ref.ask(Ping(n))
            except AskError as exc:
                answers[n] = str(exc)

        async with trio.open_nursery() as askers:
            for n in range(3):
                askers.start_soon(ask, n)
            await trio.testing.wait_all_tasks_blocked()
            assert answers == {}
            await ref.send(Ping(7))  # a plain send may be deferred too: nothing to answer
            assert await ref.ask(Ping(-1)) == Pong(4)
        assert answers == {0: Pong(0), 1: "later@n1: odd", 2: Pong(2)}
        nursery.cancel_scope.cancel()


async def test_on_drained_runs_once_per_burst() -> None:
    class Batcher(Actor):
        def __init__(self) -> None:
            self.batch: list[int] = []
            self.flushed: list[list[int]] = []

        async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
            assert isinstance(msg, Ping)
            self.batch.append(msg.n)
            return None

        async def on_drained(self) -> None:
            self.flushed.append(self.batch)
            self.batch = []

    system = make_system()
    batcher = Batcher()
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "batcher", batcher)
        ref = system.ref("n1", "batcher")
        for n in range(5):
            assert ref.try_send(Ping(n))
        await trio.testing.wait_all_tasks_blocked()
        assert ref.try_send(Ping(5))
        await trio.testing.wait_all_tasks_blocked()
        assert batcher.flushed == [[0, 1, 2, 3, 4], [5]]
        nursery.cancel_scope.cancel()
