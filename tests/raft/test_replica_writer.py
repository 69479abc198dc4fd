"""The replica's writer: the disk works while the actor goes on, and a full disk still waits.

One member on an actor system with a memory disk whose fsync takes a few
milliseconds, so proposals keep arriving while a write is in flight.
"""

from __future__ import annotations

import random

import trio

from actors.raft.actor import RaftActor
from actors.raft.core import RaftConfig
from actors.raft.replica import Committed, InDoubtReply, Propose, Replica, SimpleStateMachine
from runtime.storage import MemoryDisk, MemoryStorage
from runtime.system import ActorSystem
from transport.codec import Message

TICK_S = 0.01


class Applied(SimpleStateMachine):
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def apply(self, index: int, data: bytes) -> Message | None:
        self.data.append(data)
        return None

    def snapshot(self) -> bytes:
        return b""

    def restore(self, data: bytes) -> None:
        pass


class Counting(MemoryStorage):
    """Counts saves, and how many were in flight at once (never more than one)."""

    def __init__(self, disk: MemoryDisk, fsync_s: float) -> None:
        super().__init__(disk, fsync_s=fsync_s)
        self.saves = 0
        self.in_flight = 0
        self.most_in_flight = 0

    async def save(self, *args: object) -> None:
        self.saves += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await super().save(*args)  # type: ignore[arg-type]
        finally:
            self.in_flight -= 1


async def run_member(
    storage: MemoryStorage, machine: Applied, nursery: trio.Nursery
) -> tuple[ActorSystem, Replica]:
    system = ActorSystem("m1", None, random.Random(1))
    replica = Replica(
        "m1", ("m1",), storage, machine, RaftConfig(), peer_name="raft", tick_s=TICK_S
    )
    await nursery.start(system.run_actor, "raft", RaftActor(replica))
    with trio.fail_after(5):
        while not replica.is_leader:
            await trio.sleep(TICK_S)
    return system, replica


async def propose_many(system: ActorSystem, count: int, answers: list[Message]) -> None:
    async def one(n: int) -> None:
        answers.append(await system.ref("m1", "raft").ask(Propose(b"p%d" % n), 30.0))

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(one, n)
            if n % 10 == 0:
                await trio.sleep(0.001)


async def test_proposals_made_during_a_write_share_the_next_one(
    autojump_clock: trio.abc.Clock,
) -> None:
    disk = MemoryDisk()
    storage = Counting(disk, fsync_s=0.005)
    machine = Applied()
    async with trio.open_nursery() as nursery:
        system, _ = await run_member(storage, machine, nursery)
        before = storage.saves
        answers: list[Message] = []
        await propose_many(system, 200, answers)
        nursery.cancel_scope.cancel()
    assert all(isinstance(a, Committed) for a in answers)
    assert sorted(machine.data) == sorted(b"p%d" % n for n in range(200))
    assert storage.most_in_flight == 1, "writes must reach the disk one after the other"
    assert storage.saves - before < 40, "proposals that arrived meanwhile were written together"


async def test_a_full_disk_is_waited_out_and_the_log_on_disk_has_no_hole(
    autojump_clock: trio.abc.Clock,
) -> None:
    disk = MemoryDisk()
    machine = Applied()
    async with trio.open_nursery() as nursery:
        system, replica = await run_member(MemoryStorage(disk, fsync_s=0.005), machine, nursery)
        answers: list[Message] = []

        async def fill_soon() -> None:
            await trio.sleep(0.02)
            disk.space.fill(trio.current_time() + 0.5, "no space left on device")

        nursery.start_soon(fill_soon)
        await propose_many(system, 300, answers)
        with trio.fail_after(10):
            while len(machine.data) < 300:
                await trio.sleep(TICK_S)
        assert replica.storage_full is None
        nursery.cancel_scope.cancel()
    # those made while the disk was full were answered as in doubt, and applied all the same
    assert {type(a) for a in answers} == {Committed, InDoubtReply}
    assert sorted(machine.data) == sorted(b"p%d" % n for n in range(300))
    indexes = [e.index for e in disk.durable.entries]
    assert indexes == list(range(1, len(indexes) + 1))
    assert len(indexes) >= 301  # the leader's no-op and every proposal
