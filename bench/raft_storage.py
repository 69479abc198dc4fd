"""Raft's durable write: entries per second through SqliteStorage, one fsync per save.

This is the floor under every committed proposal on a real master: one save
per Ready, so batch 1 is a proposal per fsync and batch 64 is what group
commit gives under load.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trio

from bench.harness import BenchCase
from runtime.storage import SqliteStorage
from transport.raft import Entry, HardState

PAYLOAD = b"x" * 100
SAVES_PER_RUN = 20


def _saving(batch: int) -> BenchCase:
    folder = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    storage = SqliteStorage(folder / "raft.db")
    next_index = [1]

    async def saves() -> None:
        for _ in range(SAVES_PER_RUN):
            first = next_index[0]
            entries = [Entry(1, first + i, 0, PAYLOAD) for i in range(batch)]
            next_index[0] += batch
            await storage.save(HardState(1, "m1", first + batch - 1), entries, None)

    def run() -> int:
        trio.run(saves)
        return SAVES_PER_RUN * batch

    return BenchCase(f"raft.sqlite.save@batch{batch}", run)


def cases() -> list[BenchCase]:
    return [_saving(1), _saving(64)]
