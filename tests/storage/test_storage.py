"""Storage semantics, shared by SqliteStorage and MemoryStorage, checked against a plain model."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.storage import MemoryDisk, MemoryStorage, SqliteStorage, Storage
from runtime.storage.base import LogImage
from transport.raft import Entry, HardState, Snapshot

ROOT = Path(__file__).resolve().parents[2]


def entries(first: int, last: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, 0, f"e{i}t{term}".encode()) for i in range(first, last + 1)]


@pytest.fixture(params=["sqlite", "memory"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    made: Storage = (
        SqliteStorage(tmp_path / "raft.db")
        if request.param == "sqlite"
        else MemoryStorage(MemoryDisk())
    )
    yield made
    await made.close()


async def test_empty_store_loads_empty(storage: Storage) -> None:
    state = await storage.load()
    assert state.hard_state == HardState(0, None, 0)
    assert state.snapshot is None
    assert state.entries == ()


async def test_save_then_load(storage: Storage) -> None:
    await storage.save(HardState(3, "m2", 2), entries(1, 3), None)
    state = await storage.load()
    assert state.hard_state == HardState(3, "m2", 2)
    assert list(state.entries) == entries(1, 3)


async def test_entries_truncate_the_conflicting_tail(storage: Storage) -> None:
    await storage.save(None, entries(1, 5), None)
    await storage.save(None, entries(3, 4, term=2), None)
    assert list((await storage.load()).entries) == entries(1, 2) + entries(3, 4, term=2)


async def test_hard_state_alone(storage: Storage) -> None:
    await storage.save(None, entries(1, 2), None)
    await storage.save(HardState(7, None, 1), (), None)
    state = await storage.load()
    assert state.hard_state == HardState(7, None, 1)
    assert len(state.entries) == 2


async def test_installed_snapshot_keeps_an_agreeing_tail(storage: Storage) -> None:
    await storage.save(None, entries(1, 6), None)
    await storage.save(None, (), Snapshot(4, 1, ("m1",), b"state"))
    state = await storage.load()
    assert state.snapshot == Snapshot(4, 1, ("m1",), b"state")
    assert list(state.entries) == entries(5, 6)


async def test_installed_snapshot_replaces_a_disagreeing_log(storage: Storage) -> None:
    await storage.save(None, entries(1, 6), None)
    await storage.save(None, (), Snapshot(4, 3, ("m1",), b"state"))
    assert (await storage.load()).entries == ()


async def test_compact_drops_only_covered_entries(storage: Storage) -> None:
    await storage.save(None, entries(1, 6), None)
    await storage.compact(Snapshot(3, 1, ("m1", "m2"), b"s"))
    state = await storage.load()
    assert state.snapshot is not None and state.snapshot.voters == ("m1", "m2")
    assert list(state.entries) == entries(4, 6)


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "a" / "raft.db")
    await first.save(HardState(2, "m1", 1), entries(1, 2), Snapshot(0, 0, ("m1",), b""))
    await first.close()
    second = SqliteStorage(tmp_path / "a" / "raft.db")
    state = await second.load()
    await second.close()
    assert state.hard_state == HardState(2, "m1", 1)
    assert list(state.entries) == entries(1, 2)


def operations() -> st.SearchStrategy[list[tuple[str, int, int, int]]]:
    op = st.tuples(
        st.sampled_from(["append", "hard", "install", "compact"]),
        st.integers(1, 12),
        st.integers(0, 4),
        st.integers(1, 3),
    )
    return st.lists(op, max_size=15)


def apply_ops(ops: list[tuple[str, int, int, int]]) -> list[tuple[str, tuple[object, ...]]]:
    """Turn drawn numbers into valid calls: appends stay contiguous with the stored log."""
    model = LogImage()
    calls: list[tuple[str, tuple[object, ...]]] = []
    for kind, a, b, term in ops:
        last = (
            model.entries[-1].index
            if model.entries
            else (model.snapshot.index if model.snapshot else 0)
        )
        if kind == "append":
            first = max(1, min(a, last + 1), (model.snapshot.index + 1) if model.snapshot else 1)
            args: tuple[object, ...] = (None, entries(first, first + b, term), None)
            calls.append(("save", args))
            model.save(None, entries(first, first + b, term), None)
        elif kind == "hard":
            calls.append(("save", (HardState(a, f"m{b}", min(a, last)), (), None)))
            model.save(HardState(a, f"m{b}", min(a, last)), (), None)
        elif kind == "install":
            snap = Snapshot(a, term, ("m1",), bytes([a]))
            calls.append(("save", (None, (), snap)))
            model.save(None, (), snap)
        elif last and (model.snapshot is None or model.snapshot.index < last):
            index = min(a, last)
            found = [e for e in model.entries if e.index == index]
            if found:
                snap = Snapshot(index, found[0].term, ("m1",), b"c")
                calls.append(("compact", (snap,)))
                model.compact(snap)
    calls.append(("expect", (model.state(),)))
    return calls


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations())
def test_storages_agree_with_the_model(
    ops: list[tuple[str, int, int, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    calls = apply_ops(ops)
    expected = calls[-1][1][0]

    async def run(store: Storage) -> object:
        for name, args in calls[:-1]:
            await getattr(store, name)(*args)
        state = await store.load()
        await store.close()
        return state

    sqlite_state = trio.run(run, SqliteStorage(tmp_path_factory.mktemp("db") / "raft.db"))
    memory_state = trio.run(run, MemoryStorage(MemoryDisk()))
    assert sqlite_state == expected
    assert memory_state == expected


async def test_memory_disk_keeps_synced_writes_through_a_crash() -> None:
    disk = MemoryDisk()
    await MemoryStorage(disk).save(HardState(1, "m1", 0), entries(1, 2), None)
    disk.crash(random.Random(0))
    state = await MemoryStorage(disk).load()
    assert list(state.entries) == entries(1, 2)
    assert disk.syncs == 1


@pytest.mark.parametrize("seed", range(8))
async def test_memory_disk_crash_mid_fsync_keeps_or_loses_whole_writes(seed: int) -> None:
    disk = MemoryDisk()
    storage = MemoryStorage(disk, fsync_s=1.0)
    await MemoryStorage(disk).save(HardState(1, "m1", 0), entries(1, 2), None)
    with trio.move_on_after(0.5):  # the crash: cancelled while waiting for the fsync
        await storage.save(HardState(2, "m1", 3), entries(3, 4, term=2), None)
    assert disk.unsynced
    disk.crash(random.Random(seed))
    state = await MemoryStorage(disk).load()
    if disk.lost_writes:
        assert state.hard_state == HardState(1, "m1", 0)
        assert list(state.entries) == entries(1, 2)
    else:
        assert state.hard_state == HardState(2, "m1", 3)
        assert list(state.entries) == entries(1, 2) + entries(3, 4, term=2)


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "raft.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("append_forever.py")), str(db)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    acked = 0
    deadline = time.monotonic() + 10
    while acked < 200 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            acked = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert acked >= 200, "the appender did not get going"

    async def load() -> object:
        store = SqliteStorage(db)
        state = await store.load()
        await store.close()
        return state

    state = trio.run(load)
    indexes = [e.index for e in state.entries]  # type: ignore[attr-defined]
    assert indexes == list(range(1, len(indexes) + 1)), "the log has a gap"
    assert len(indexes) >= acked
    assert state.hard_state.commit >= acked  # type: ignore[attr-defined]
