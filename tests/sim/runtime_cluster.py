"""Two nodes of the actor runtime on SimNetwork: the runtime's own tests and the output
actors' tests run on them. A test on trio's mock clock asks for ``autojump_clock`` next to
``cluster``; one that does not keeps the real clock."""

import random
from collections.abc import AsyncIterator

import attrs
import pytest
import trio

from runtime.actor import Actor, ActorRef
from runtime.clock import sim_wall_clock
from runtime.system import ActorSystem
from transport.simnet import LinkConfig, NetConfig, SimNetwork


@attrs.define
class Cluster:
    net: SimNetwork
    systems: dict[str, ActorSystem]
    nursery: trio.Nursery

    def ref(self, from_node: str, node: str, name: str) -> ActorRef:
        return self.systems[from_node].ref(node, name)

    async def run(self, node: str, name: str, actor: Actor) -> None:
        await self.nursery.start(self.systems[node].run_actor, name, actor)


# pytest-trio only mocks the clock for a test that takes the clock fixture itself. A test
# module imports it as ``cluster_fixture`` (an import named ``cluster`` would be shadowed
# by each test's parameter) and asks for ``cluster``.
@pytest.fixture(name="cluster")
async def cluster_fixture() -> AsyncIterator[Cluster]:
    net = SimNetwork(random.Random(0), NetConfig(link=LinkConfig(latency=0.01, jitter=0.005)))
    async with trio.open_nursery() as nursery:
        await nursery.start(net.run)
        systems: dict[str, ActorSystem] = {}
        for node in ("n1", "n2"):
            system = ActorSystem(node, net.endpoint(node), random.Random(node), sim_wall_clock)
            await nursery.start(system.serve)
            systems[node] = system
        yield Cluster(net, systems, nursery)
        nursery.cancel_scope.cancel()
