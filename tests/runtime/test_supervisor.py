import logging
import random

import pytest
import trio

from runtime.actor import Actor, ActorRef
from runtime.errors import Escalation
from runtime.supervisor import ChildSpec, Strategy, Supervisor
from runtime.system import ActorSystem
from tests.runtime.messages import Boom, Ping, Pong
from transport.codec import Message


class Counter(Actor):
    """Counts its own starts in a shared dict, crashes on Boom, answers Ping."""

    def __init__(self, name: str, starts: dict[str, int]) -> None:
        self.name = name
        self.starts = starts

    async def on_start(self) -> None:
        self.starts[self.name] = self.starts.get(self.name, 0) + 1

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Boom):
            raise RuntimeError(msg.reason)
        assert isinstance(msg, Ping)
        return Pong(self.starts[self.name])


def spec(name: str, starts: dict[str, int]) -> ChildSpec:
    return ChildSpec(name, lambda: Counter(name, starts))


async def crash(system: ActorSystem, name: str) -> None:
    await system.ref(system.node, name).send(Boom("test crash"))
    await trio.testing.wait_all_tasks_blocked()


async def test_one_for_one_restarts_only_the_crashed_child(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "podium.supervisor")
    system = ActorSystem("n1", None, random.Random(0))
    starts: dict[str, int] = {}
    sup = Supervisor("root", [spec("a", starts), spec("b", starts)], Strategy.ONE_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, system)
        await crash(system, "a")
        assert starts == {"a": 2, "b": 1}
        assert await system.ref("n1", "a").ask(Ping(0)) == Pong(2)
        nursery.cancel_scope.cancel()
    events = [(r.event, r.child) for r in caplog.records]  # type: ignore[attr-defined]
    assert events == [("start", "a"), ("start", "b"), ("crash", "a"), ("restart", "a")]
    crash_line = caplog.records[2]
    assert "test crash" in crash_line.error  # type: ignore[attr-defined]
    assert crash_line.supervisor == "root"  # type: ignore[attr-defined]


async def test_one_for_all_restarts_every_child(autojump_clock: trio.abc.Clock) -> None:
    system = ActorSystem("n1", None, random.Random(0))
    starts: dict[str, int] = {}
    sup = Supervisor("root", [spec("a", starts), spec("b", starts)], Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, system)
        await crash(system, "b")
        assert starts == {"a": 2, "b": 2}
        assert await system.ref("n1", "b").ask(Ping(0)) == Pong(2)
        nursery.cancel_scope.cancel()


async def test_intensity_limit_escalates(autojump_clock: trio.abc.Clock) -> None:
    system = ActorSystem("n1", None, random.Random(0))
    starts: dict[str, int] = {}
    sup = Supervisor("root", [spec("a", starts)], max_restarts=2, within_s=10)
    with pytest.raises(ExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run, system)
            for _ in range(3):
                await crash(system, "a")
    assert raised.group_contains(Escalation, match="more than 2 restarts within 10s")
    assert starts == {"a": 3}


async def test_crashes_spread_out_in_time_do_not_escalate(autojump_clock: trio.abc.Clock) -> None:
    system = ActorSystem("n1", None, random.Random(0))
    starts: dict[str, int] = {}
    sup = Supervisor("root", [spec("a", starts)], max_restarts=2, within_s=10)
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run, system)
        for _ in range(5):
            await crash(system, "a")
            await trio.sleep(6)
        assert starts == {"a": 6}
        nursery.cancel_scope.cancel()


async def test_escalation_restarts_the_subtree_under_the_parent(
    autojump_clock: trio.abc.Clock,
) -> None:
    system = ActorSystem("n1", None, random.Random(0))
    starts: dict[str, int] = {}

    def inner() -> Supervisor:
        return Supervisor("inner", [spec("a", starts), spec("b", starts)], max_restarts=1)

    root = Supervisor("root", [ChildSpec("inner", inner), spec("c", starts)])
    async with trio.open_nursery() as nursery:
        await nursery.start(root.run, system)
        await crash(system, "a")  # inner restarts a
        await crash(system, "a")  # inner gives up; root restarts the inner subtree
        assert starts == {"a": 3, "b": 2, "c": 1}
        assert await system.ref("n1", "b").ask(Ping(0)) == Pong(2)
        nursery.cancel_scope.cancel()


async def test_a_child_that_returns_is_not_restarted() -> None:
    class Once(Actor):
        async def on_start(self) -> None:
            self.ctx.stop()

    system = ActorSystem("n1", None, random.Random(0))
    await Supervisor("root", [ChildSpec("once", Once)]).run(system)
    assert not system.has_actor("once")


def test_duplicate_child_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor("root", [ChildSpec("a", Actor), ChildSpec("a", Actor)])
