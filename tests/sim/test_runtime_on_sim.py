"""The actor runtime across nodes on SimNetwork, on trio's mock clock."""

import functools

import attrs
import pytest
import trio

from runtime.actor import Actor, ActorRef
from runtime.errors import AskError, AskTimeout, Escalation
from runtime.supervisor import ChildSpec, Strategy, Supervisor
from tests.sim.messages import Boom, Ping, Pong
from tests.sim.runtime_cluster import Cluster, cluster_fixture  # noqa: F401  (a fixture)
from transport.codec import Message


class Echo(Actor):
    """Answers Ping(n) with Pong(n), crashes on Boom, remembers who sent what."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, ActorRef | None]] = []

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, Boom):
            raise RuntimeError(msg.reason)
        assert isinstance(msg, Ping)
        self.seen.append((msg.n, sender))
        return Pong(msg.n)


async def test_remote_send_arrives_with_its_sender(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    echo = Echo()
    await cluster.run("n2", "echo", echo)
    me = cluster.ref("n1", "n1", "client")
    await cluster.ref("n1", "n2", "echo").send(Ping(1), sender=me)
    assert cluster.ref("n1", "n2", "echo").try_send(Ping(2))
    await trio.sleep(1)
    assert sorted(n for n, _ in echo.seen) == [1, 2]
    senders = dict(echo.seen)
    assert senders[1] == me
    assert senders[2] is None


async def test_remote_ask_gets_the_reply(cluster: Cluster, autojump_clock: trio.abc.Clock) -> None:
    await cluster.run("n2", "echo", Echo())
    assert await cluster.ref("n1", "n2", "echo").ask(Ping(5), timeout=2) == Pong(5)


async def test_ask_to_a_partitioned_node_times_out_then_works_after_heal(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    await cluster.run("n2", "echo", Echo())
    cluster.net.partition(["n1"], ["n2"])
    start = trio.current_time()
    with pytest.raises(AskTimeout, match=r"^echo@n2 did not answer Ping within 2s$"):
        await cluster.ref("n1", "n2", "echo").ask(Ping(1), timeout=2)
    assert trio.current_time() - start == pytest.approx(2.0)
    cluster.net.heal()
    assert await cluster.ref("n1", "n2", "echo").ask(Ping(2), timeout=2) == Pong(2)


async def test_ask_to_a_missing_remote_actor_is_an_error(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    with pytest.raises(AskError, match="no actor 'ghost' on node 'n2'"):
        await cluster.ref("n1", "n2", "ghost").ask(Ping(1), timeout=2)


async def test_ask_whose_remote_handler_raises_is_an_error(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    root = Supervisor("root", [ChildSpec("echo", Echo)])
    await cluster.nursery.start(root.run, cluster.systems["n2"])
    with pytest.raises(AskError, match="RuntimeError: handler broke"):
        await cluster.ref("n1", "n2", "echo").ask(Boom("handler broke"), timeout=2)
    assert await cluster.ref("n1", "n2", "echo").ask(Ping(3), timeout=2) == Pong(3)


@attrs.frozen
class Fired:
    at: float
    what: str


class Clockwork(Actor):
    """Arms a periodic tick and a one-shot timer, records when each message arrives."""

    def __init__(self, handler_s: float = 0.0) -> None:
        self.handler_s = handler_s
        self.fired: list[Fired] = []

    async def on_start(self) -> None:
        self.start = self.ctx.now()
        self.ctx.every(0.5, Ping(0))
        self.ctx.send_after(1.25, Ping(1))
        self.ctx.send_after(0.75, Ping(2)).cancel()

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, Ping)
        what = ("tick", "after", "cancelled")[msg.n]
        self.fired.append(Fired(round(self.ctx.now() - self.start, 9), what))
        await trio.sleep(self.handler_s)
        return None


async def test_timers_fire_at_their_mock_times(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    clockwork = Clockwork()
    await cluster.run("n2", "clockwork", clockwork)
    await trio.sleep(2.1)
    assert clockwork.fired == [
        Fired(0.5, "tick"),
        Fired(1.0, "tick"),
        Fired(1.25, "after"),
        Fired(1.5, "tick"),
        Fired(2.0, "tick"),
    ]


async def test_periodic_ticks_do_not_drift_behind_a_slow_handler(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    clockwork = Clockwork(handler_s=0.2)
    await cluster.run("n2", "clockwork", clockwork)
    await trio.sleep(2.1)
    ticks = [fired.at for fired in clockwork.fired if fired.what == "tick"]
    assert ticks == [0.5, 1.0, 1.5, 2.0]


class Instances:
    """Builds the Echo actors of a supervisor's children and keeps each one, so restarts show."""

    def __init__(self) -> None:
        self.built: dict[str, list[Echo]] = {}

    def specs(self, *names: str) -> list[ChildSpec]:
        return [ChildSpec(name, functools.partial(self._build, name)) for name in names]

    def _build(self, name: str) -> Echo:
        echo = Echo()
        self.built.setdefault(name, []).append(echo)
        return echo

    @property
    def starts(self) -> dict[str, int]:
        return {name: len(built) for name, built in self.built.items()}


async def crash_remotely(cluster: Cluster, name: str) -> None:
    assert cluster.ref("n1", "n2", name).try_send(Boom(f"crash {name}"))
    await trio.sleep(1)


@pytest.mark.parametrize(
    ("strategy", "crashed", "starts"),
    [
        (Strategy.ONE_FOR_ONE, "a", {"a": 2, "b": 1}),
        (Strategy.ONE_FOR_ALL, "b", {"a": 2, "b": 2}),
    ],
)
async def test_a_remote_crash_restarts_by_strategy(
    cluster: Cluster,
    autojump_clock: trio.abc.Clock,
    strategy: Strategy,
    crashed: str,
    starts: dict[str, int],
) -> None:
    instances = Instances()
    root = Supervisor("root", instances.specs("a", "b"), strategy)
    await cluster.nursery.start(root.run, cluster.systems["n2"])
    await crash_remotely(cluster, crashed)
    assert instances.starts == starts
    assert await cluster.ref("n1", "n2", crashed).ask(Ping(7), timeout=2) == Pong(7)
    assert [n for n, _ in instances.built[crashed][-1].seen] == [7]


async def test_too_many_restarts_within_the_window_escalate(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    instances = Instances()
    root = Supervisor("root", instances.specs("a"), max_restarts=2, within_s=10)
    with pytest.raises(BaseExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            await nursery.start(root.run, cluster.systems["n2"])
            for _ in range(3):
                await crash_remotely(cluster, "a")
    assert raised.group_contains(Escalation, match="more than 2 restarts within 10s")
    assert instances.starts == {"a": 3}


async def test_restarts_spread_wider_than_the_window_do_not_escalate(
    cluster: Cluster, autojump_clock: trio.abc.Clock
) -> None:
    instances = Instances()
    root = Supervisor("root", instances.specs("a"), max_restarts=2, within_s=10)
    await cluster.nursery.start(root.run, cluster.systems["n2"])
    for _ in range(4):
        await crash_remotely(cluster, "a")
        await trio.sleep(5)
    assert instances.starts == {"a": 5}
