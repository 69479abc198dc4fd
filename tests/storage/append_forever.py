"""Appends Raft entries to a SqliteStorage forever, printing each index once save() returned.

The kill -9 test runs this, kills it mid-stream, and checks that every index
printed (acknowledged) is on disk.
"""

from __future__ import annotations

import sys

import trio

from runtime.storage import SqliteStorage
from transport.raft import Entry, HardState


async def main(path: str) -> None:
    storage = SqliteStorage(path)
    index = 0
    while True:
        batch = [Entry(1, index + i + 1, 0, b"x" * 64) for i in range(8)]
        index += len(batch)
        await storage.save(HardState(1, "m1", index), batch, None)
        print(index, flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
