"""A full disk is a StorageFull that leaves nothing behind, and the stores carry on after it.

SQLite runs on a real tmpfs small enough to fill (skipped where mounting is
not permitted); the simulator's memory disks are filled through their
``SpaceLimit``. Either way a write that did not fit changed nothing, the
same store takes writes again once there is room, and the history writer
keeps what it could not write pending (reads still see it) until it can.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from runtime.storage import MemoryDisk, MemoryStorage, SqliteStorage, StorageFull
from runtime.storage.full import as_storage_full
from runtime.storage.history import History, insert
from runtime.storage.history_memory import HistoryDisk, MemoryHistory
from tests.storage.records import record
from transport.raft import Entry, HardState


def entries(first: int, last: int, size: int = 1) -> list[Entry]:
    return [Entry(1, i, 0, bytes([i % 256]) * size) for i in range(first, last + 1)]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_what_counts_as_a_full_disk() -> None:
    assert isinstance(
        as_storage_full(sqlite3.OperationalError("database or disk is full")), StorageFull
    )
    assert isinstance(as_storage_full(OSError(errno.ENOSPC, "No space left")), StorageFull)
    assert as_storage_full(sqlite3.OperationalError("no such table: jobs")) is None
    assert as_storage_full(OSError(errno.EACCES, "Permission denied")) is None
    assert as_storage_full(ValueError("disk is full")) is None


def _fill(directory: Path) -> Path:
    """A file that takes every byte left on the disk."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 10, 1):
            try:
                while out.write(b"\0" * size) == size:
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


async def test_sqlite_storage_on_a_full_disk_keeps_nothing_of_the_failed_save(
    tiny_disk: Path,
) -> None:
    storage = SqliteStorage(tiny_disk / "raft.db")
    await storage.save(HardState(1, None, 0), entries(1, 3), None)
    filler = _fill(tiny_disk)
    with pytest.raises(StorageFull):
        await storage.save(HardState(2, "m2", 3), entries(4, 40, 65536), None)
    filler.unlink()
    # room again: the same connection goes on, and the failed save left nothing
    await storage.save(HardState(1, None, 5), entries(4, 5), None)
    await storage.close()
    reopened = SqliteStorage(tiny_disk / "raft.db")
    state = await reopened.load()
    await reopened.close()
    assert state.hard_state == HardState(1, None, 5)
    assert state.entries == tuple(entries(1, 5))


async def test_memory_storage_refuses_every_write_while_full() -> None:
    disk = MemoryDisk()
    storage = MemoryStorage(disk)
    await storage.save(HardState(1, None, 0), entries(1, 2), None)
    disk.space.fill(trio.current_time() + 1.0, "full (test)")
    with pytest.raises(StorageFull, match="full"):
        await storage.save(HardState(2, None, 2), entries(3, 4), None)
    assert disk.visible.state().entries == tuple(entries(1, 2))
    await trio.sleep(1.0)
    await storage.save(HardState(2, None, 2), entries(3, 4), None)
    assert (await storage.load()).entries == tuple(entries(1, 4))


async def test_the_history_writer_waits_out_a_full_disk_and_reads_see_what_waits() -> None:
    disk = HistoryDisk()
    history = History(MemoryHistory(disk))
    await history.open()
    disk.space.fill(trio.current_time() + 1.0, "full (test)")
    history.record(1, insert(record(1)))
    history.advance(1)
    with pytest.raises(StorageFull):
        await history.flush()
    assert history.full == "full (test)"
    assert not history.congested
    found = await history.get("job-1")
    assert found is not None and found.seq == 1
    assert disk.visible.rows == {}
    await trio.sleep(1.0)
    await history.flush()
    assert history.full is None
    assert list(disk.visible.rows) == ["job-1"] and history.written == 1
    await history.close()
