"""The simulator's disk: writes are durable only once synced, and a crash decides the rest.

A :class:`MemoryDisk` belongs to the simulated machine, not to a node's
incarnation, so it outlives crashes. ``save`` records the write as unsynced,
waits for the simulated fsync, then marks it synced; a crash that cancels the
wait leaves it unsynced. When the node dies the simulator calls
:meth:`MemoryDisk.crash`, which keeps or loses each unsynced write whole (a
SQLite transaction is atomic, never torn), in order: once one is lost, every
later one is too.

A disk can also be full for a while (:attr:`MemoryDisk.space`, the simulator's
disk-full fault): every write then raises
:class:`~runtime.storage.full.StorageFull` before touching anything, as a
SQLite transaction that did not fit leaves nothing behind.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence

import trio

from runtime.storage.base import LogImage, PersistedState
from runtime.storage.full import SpaceLimit
from transport.raft import Entry, HardState, Snapshot

__all__ = ["MemoryDisk", "MemoryStorage"]

Write = Callable[[LogImage], None]


class MemoryDisk:
    def __init__(self) -> None:
        self.durable = LogImage()
        # what the node sees: durable plus every write not yet synced
        self.visible = LogImage()
        self.unsynced: list[Write] = []
        self.syncs = 0
        self.lost_writes = 0
        self.space = SpaceLimit()

    def write(self, change: Write) -> None:
        self.space.check()
        change(self.visible)
        self.unsynced.append(change)

    def sync(self) -> None:
        for change in self.unsynced:
            change(self.durable)
        self.unsynced.clear()
        self.syncs += 1

    def crash(self, rng: random.Random) -> None:
        """The machine lost power: each unsynced write survives whole or not at all."""
        for pos, change in enumerate(self.unsynced):
            if rng.random() < 0.5:
                self.lost_writes += len(self.unsynced) - pos
                break
            change(self.durable)
        self.unsynced.clear()
        self.visible = copy.deepcopy(self.durable)


class MemoryStorage:
    def __init__(self, disk: MemoryDisk, *, fsync_s: float = 0.0) -> None:
        self.disk = disk
        self.fsync_s = fsync_s

    async def load(self) -> PersistedState:
        return self.disk.visible.state()

    async def save(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        batch = tuple(entries)
        self.disk.write(lambda image: image.save(hard_state, batch, snapshot))
        await self._fsync()

    async def compact(self, snapshot: Snapshot) -> None:
        self.disk.write(lambda image: image.compact(snapshot))
        await self._fsync()

    async def _fsync(self) -> None:
        await trio.sleep(self.fsync_s)
        self.disk.sync()

    async def close(self) -> None:
        pass
