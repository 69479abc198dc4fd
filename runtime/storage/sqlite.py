"""Raft storage in SQLite: WAL, ``synchronous=FULL``, one dedicated thread, one fsync per save.

sqlite3 blocks, and ``aiosqlite`` speaks asyncio, not trio, so every call runs
on a single worker thread through ``anyio.to_thread`` with a limiter of one:
the connection is only ever touched by that thread, and calls run in order.
With WAL and ``synchronous=FULL`` a committed transaction is on disk when
COMMIT returns, and each ``save`` is exactly one transaction.

A full disk fails the transaction whole (SQLite rolls it back) and is raised
as :class:`~runtime.storage.full.StorageFull`: the caller keeps what it meant
to write and tries again later, and the connection stays usable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from runtime.storage.base import EMPTY_HARD_STATE, PersistedState
from runtime.storage.full import as_storage_full
from transport.raft import Entry, HardState, Snapshot

__all__ = ["SqliteStorage"]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS hard_state (id INTEGER PRIMARY KEY CHECK (id = 0),
    term INTEGER NOT NULL, vote TEXT, commit_index INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,
    kind INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 0),
    idx INTEGER NOT NULL, term INTEGER NOT NULL, voters TEXT NOT NULL, data BLOB NOT NULL);
"""


class SqliteStorage:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._limiter = anyio.CapacityLimiter(1)
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(self._call, fn, limiter=self._limiter)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._db is None:
                self._db = self._open()
            return fn(self._db)
        except (sqlite3.Error, OSError) as exc:
            full = as_storage_full(exc, self.path)
            if full is None:
                raise
            raise full from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        return db

    async def load(self) -> PersistedState:
        return await self._run(_load)

    async def save(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        batch = tuple(entries)
        await self._run(lambda db: _transaction(db, lambda: _save(db, hard_state, batch, snapshot)))

    async def compact(self, snapshot: Snapshot) -> None:
        await self._run(lambda db: _transaction(db, lambda: _compact(db, snapshot)))

    async def close(self) -> None:
        def close(db: sqlite3.Connection) -> None:
            db.close()
            self._db = None

        if self._db is not None:
            await self._run(close)


def _transaction(db: sqlite3.Connection, body: Callable[[], None]) -> None:
    """``body`` in one transaction; a failure anywhere, COMMIT included, keeps nothing of it
    (SQLite may already have rolled back, as it does for a full disk)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        body()
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _load(db: sqlite3.Connection) -> PersistedState:
    row = db.execute("SELECT term, vote, commit_index FROM hard_state").fetchone()
    hard = HardState(row[0], row[1], row[2]) if row else EMPTY_HARD_STATE
    snap_row = db.execute("SELECT idx, term, voters, data FROM snapshot").fetchone()
    snapshot = None
    if snap_row:
        voters = tuple(v for v in snap_row[2].split(",") if v)
        snapshot = Snapshot(snap_row[0], snap_row[1], voters, bytes(snap_row[3]))
    entries = tuple(
        Entry(term, idx, kind, bytes(data))
        for idx, term, kind, data in db.execute(
            "SELECT idx, term, kind, data FROM entries ORDER BY idx"
        )
    )
    return PersistedState(hard, snapshot, entries)


def _save(
    db: sqlite3.Connection,
    hard_state: HardState | None,
    entries: tuple[Entry, ...],
    snapshot: Snapshot | None,
) -> None:
    if snapshot is not None:
        anchored = db.execute(
            "SELECT 1 FROM entries WHERE idx = ? AND term = ?", (snapshot.index, snapshot.term)
        ).fetchone()
        if anchored:
            db.execute("DELETE FROM entries WHERE idx <= ?", (snapshot.index,))
        else:
            db.execute("DELETE FROM entries")
        _put_snapshot(db, snapshot)
    if entries:
        db.execute("DELETE FROM entries WHERE idx >= ?", (entries[0].index,))
        db.executemany(
            "INSERT INTO entries (idx, term, kind, data) VALUES (?, ?, ?, ?)",
            [(e.index, e.term, e.kind, e.data) for e in entries],
        )
    if hard_state is not None:
        db.execute(
            "INSERT OR REPLACE INTO hard_state (id, term, vote, commit_index) VALUES (0, ?, ?, ?)",
            (hard_state.term, hard_state.vote, hard_state.commit),
        )


def _compact(db: sqlite3.Connection, snapshot: Snapshot) -> None:
    db.execute("DELETE FROM entries WHERE idx <= ?", (snapshot.index,))
    _put_snapshot(db, snapshot)


def _put_snapshot(db: sqlite3.Connection, snapshot: Snapshot) -> None:
    db.execute(
        "INSERT OR REPLACE INTO snapshot (id, idx, term, voters, data) VALUES (0, ?, ?, ?, ?)",
        (snapshot.index, snapshot.term, ",".join(snapshot.voters), snapshot.data),
    )
