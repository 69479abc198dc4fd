"""The job history in SQLite: one table of final jobs, indexed for the API's reads.

Runs on the :class:`~runtime.storage.history.History` front's single worker
thread. WAL with ``synchronous=NORMAL``: a write is atomic but not fsynced
(the Raft log is the durable source); :meth:`SqliteHistory.sync` checkpoints
the WAL into the database file, which syncs both, before the log is
compacted.

A row keeps as columns only what queries filter on and packs the rest into one
``body`` (:func:`~runtime.storage.history.pack_row`): every index costs each
finished job a B-tree insert, so there are as few as the reads need. The rowid
is the job's ``seq`` (submission order), so the default listing, newest first,
walks the table itself. Indices: the job id, the idempotency key (only where
set), the owner (only where set: a ``user``'s listing walks their own jobs;
older databases gain the column, empty), and ``(type, status)``, ordered by
seq within each pair as SQLite appends the rowid: a type alone is its four
final statuses' ranges merged, a status alone every type's range merged (the
store keeps the types it has seen in a table of their own, and its record
count in ``meta``, so opening it costs nothing that grows with it). Time in
the log never goes back (the live table makes sure), so creation times follow
seq and no job finished before it was created: ``since``/``until`` become a
seq range by bisecting the table on seq, and "finished before T" lies within
the jobs created before T, so retention needs no index of its own.

A job that depended on others has a row per parent in ``parents`` (parent
id, child seq, child id), so ``children`` of a parent is one range of its
primary key; those rows go with their child's record, by a trigger on
``jobs`` (one probe of an index per record removed, whatever removed it; a
database from before the trigger gains it when opened). The count a removal
answers is SQLite's count of the ``jobs`` rows its statement deleted, which
leaves out what the trigger deletes.

A follower catching up receives rows into a separate file that replaces
this one when complete (:meth:`SqliteHistory.finish_install`); the parents of
the rows it receives are read from the rows themselves.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgpack

from runtime.storage.history import (
    FINAL_STATUSES,
    ROW_COLUMNS,
    Link,
    Op,
    Remove,
    unpack_row,
)
from transport.commands import PurgeCmd, RetainCmd
from transport.records import JobQuery, JobRecord

__all__ = ["HISTORY_FORMAT", "HistoryFormatError", "SqliteHistory"]

# the layout of the history database; a database of another format is refused
HISTORY_FORMAT = 1
COLUMNS = ", ".join(ROW_COLUMNS)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS types (type TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    idempotency_key TEXT, created_at REAL NOT NULL, finished_at REAL,
    finished_index INTEGER NOT NULL, body BLOB NOT NULL, owner TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_id ON jobs (id);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_type_status ON jobs (type, status);
CREATE TABLE IF NOT EXISTS parents (
    parent TEXT NOT NULL, child_seq INTEGER NOT NULL, child TEXT NOT NULL,
    PRIMARY KEY (parent, child_seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parents_child ON parents (child_seq);
CREATE TRIGGER IF NOT EXISTS parents_follow_child AFTER DELETE ON jobs
BEGIN DELETE FROM parents WHERE child_seq = OLD.seq; END;
"""
# jobs by who submitted them, in seq order (SQLite appends the rowid); only where set, so a
# cluster without auth pays nothing. Made after the column exists in an older database.
OWNER_INDEX = """
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner) WHERE owner IS NOT NULL;
"""
# a record is inserted once (the recovery rule never replays what the store holds, and a
# retried job's old record goes first), so a second insert is a bug and fails loudly
INSERT = f"INSERT INTO jobs ({COLUMNS}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
# a record written again (replayed over a crash's partial write) links once
LINK = "INSERT OR IGNORE INTO parents VALUES (?, ?, ?)"
# pages of the database kept in memory (negative: KiB)
CACHE_KIB = 32 * 1024
# idempotency keys looked up in one statement
KEYS_PER_QUERY = 500
# a seq past every job
_END = 1 << 62
# every packed JobOptions holds its tag: a body without it has no parents
_OPTIONS_TAG = b"j.options"


class HistoryFormatError(RuntimeError):
    """The history database was written in a layout this podium does not read."""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.execute("PRAGMA temp_store=MEMORY")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    if "owner" not in columns:
        # a database from before owners were kept: its records have none
        db.execute("ALTER TABLE jobs ADD COLUMN owner TEXT")
    db.executescript(OWNER_INDEX)
    return db


class SqliteHistory:
    blocking = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.incoming_path = self.path.with_name(self.path.name + ".incoming")
        self._db: sqlite3.Connection | None = None
        self._incoming: sqlite3.Connection | None = None
        # the job types with records here (a status alone is a range per type)
        self.types: set[str] = set()
        # whether ``parents`` may hold rows (until it does, the front reads no children)
        self.linked = False

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the history database is not open")
        return self._db

    def open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _connect(self.path)
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        found = meta.get("format")
        if found is None:
            self.db.execute("INSERT INTO meta VALUES ('format', ?)", (HISTORY_FORMAT,))
        elif found != HISTORY_FORMAT:
            raise HistoryFormatError(
                f"{self.path} is history format {found}; this podium reads format {HISTORY_FORMAT}"
            )
        self._load_types()
        return int(meta.get("applied_index", 0))

    def _load_types(self) -> None:
        self.types = {row[0] for row in self.db.execute("SELECT type FROM types")}
        self.linked = self.db.execute("SELECT 1 FROM parents LIMIT 1").fetchone() is not None

    def write(self, ops: Sequence[Op], applied_index: int) -> list[int]:
        db = self.db
        removed: list[int] = []
        db.execute("BEGIN")
        try:
            run: list[tuple[Any, ...]] = []
            links: list[tuple[str, int, str]] = []
            inserted = 0
            for op in ops:
                if isinstance(op, tuple):
                    run.append(op)
                    removed.append(0)
                    continue
                if isinstance(op, Link):
                    links.extend((parent, op.child_seq, op.child_id) for parent in op.parents)
                    removed.append(0)
                    continue
                if run:
                    inserted += self._insert(db, run)
                    run = []
                if links:
                    self._link(db, links)
                    links = []
                removed.append(_remove(db, op))
            if run:
                inserted += self._insert(db, run)
            if links:
                self._link(db, links)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('applied_index', ?)", (applied_index,))
            _add_rows(db, inserted - sum(removed))
            db.execute("COMMIT")
        except BaseException:
            # a full disk fails COMMIT too, and SQLite may have rolled back already
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._load_types()  # forget types whose rows were not kept
            raise
        return removed

    def _insert(self, db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
        db.executemany(INSERT, rows)
        new = {row[2] for row in rows} - self.types
        if new:
            db.executemany("INSERT OR IGNORE INTO types VALUES (?)", [(t,) for t in new])
            self.types |= new
        return len(rows)

    def _link(self, db: sqlite3.Connection, links: list[tuple[str, int, str]]) -> None:
        db.executemany(LINK, links)
        self.linked = True

    def sync(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def get(self, job_id: str) -> JobRecord | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return unpack_row(row) if row else None

    def by_keys(self, keys: Sequence[str]) -> dict[str, JobRecord]:
        found: dict[str, JobRecord] = {}
        for start in range(0, len(keys), KEYS_PER_QUERY):
            part = keys[start : start + KEYS_PER_QUERY]
            sql = (
                f"SELECT {COLUMNS} FROM jobs "
                f"WHERE idempotency_key IN ({', '.join('?' * len(part))})"
            )
            for row in self.db.execute(sql, part):
                found[row[4]] = unpack_row(row)
        return found

    def children(self, job_id: str, limit: int) -> list[tuple[int, str]]:
        sql = "SELECT child_seq, child FROM parents WHERE parent = ? ORDER BY child_seq LIMIT ?"
        return [(int(seq), str(child)) for seq, child in self.db.execute(sql, (job_id, limit))]

    def has_links(self) -> bool:
        return self.linked

    def query(self, q: JobQuery) -> list[JobRecord]:
        if q.status is not None and q.status not in FINAL_STATUSES:
            return []
        low, high = self._seq_range(q)
        if low is not None and high is not None and low >= high:
            return []
        if q.owner is not None:
            # one range of the owner index, the other filters checked along it
            return self._select(q, q.type, q.status, low, high)
        if q.type is not None and q.status is None:
            ranges = [(q.type, status) for status in FINAL_STATUSES]
        elif q.status is not None and q.type is None:
            ranges = [(job_type, q.status) for job_type in sorted(self.types)]
        else:
            return self._select(q, q.type, q.status, low, high)
        # one range of the (type, status) index each, merged by seq
        parts = [self._select(q, job_type, status, low, high) for job_type, status in ranges]
        merged = heapq.merge(*parts, key=lambda r: r.seq, reverse=not q.ascending)
        return [r for _, r in zip(range(q.limit), merged, strict=False)]

    def _seq_range(self, q: JobQuery) -> tuple[int | None, int | None]:
        """``since``/``until`` as seqs: [low, high)."""
        low = None if q.since is None else self._first_seq_created(q.since)
        high = None if q.until is None else self._first_seq_created(q.until)
        return low, high

    def _first_seq_created(self, at: float) -> int:
        return _first_seq_created(self.db, at)

    def _select(
        self,
        q: JobQuery,
        job_type: str | None,
        status: str | None,
        low: int | None,
        high: int | None,
    ) -> list[JobRecord]:
        where: list[str] = ["1"]
        args: list[Any] = []
        if job_type is not None:
            where.append("type = ?")
            args.append(job_type)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if q.owner is not None:
            where.append("owner = ?")
            args.append(q.owner)
        if low is not None:
            where.append("seq >= ?")
            args.append(low)
        if high is not None:
            where.append("seq < ?")
            args.append(high)
        if q.after_seq is not None:
            where.append("seq > ?" if q.ascending else "seq < ?")
            args.append(q.after_seq)
        order = "ASC" if q.ascending else "DESC"
        sql = f"SELECT {COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        return [unpack_row(row) for row in self.db.execute(sql, (*args, q.limit))]

    def count(self) -> int:
        """Kept in ``meta`` as records come and go, so opening a large history is quick."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'rows'").fetchone()
        return int(row[0]) if row else 0

    def finished_before(self, at: float) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM jobs WHERE seq < ? AND finished_at < ? LIMIT 1",
            (self._first_seq_created(at), at),
        ).fetchone()
        return row is not None

    def cutoff(self, keep: int, rows: int) -> int | None:
        if rows <= keep:
            return None
        row = self.db.execute(
            "SELECT seq FROM jobs ORDER BY seq LIMIT 1 OFFSET ?", (rows - keep - 1,)
        ).fetchone()
        return int(row[0]) if row else None

    def export(self, upto_index: int, after_seq: int, limit: int) -> tuple[bytes, int] | None:
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM jobs WHERE seq > ? AND finished_index <= ? "
            "ORDER BY seq LIMIT ?",
            (after_seq, upto_index, limit),
        ).fetchall()  # rows as stored are the transfer format
        if not rows:
            return None
        return msgpack.packb(rows, use_bin_type=True), rows[-1][0]

    def begin_install(self) -> None:
        if self._incoming is not None:
            self._incoming.close()
        _remove_files(self.incoming_path)
        self._incoming = _connect(self.incoming_path)
        self._incoming.execute("INSERT INTO meta VALUES ('format', ?)", (HISTORY_FORMAT,))

    def receive(self, data: bytes) -> None:
        if self._incoming is None:
            raise RuntimeError("no history install in progress")
        rows = msgpack.unpackb(data, raw=False)
        db = self._incoming
        db.execute("BEGIN")
        db.executemany(INSERT, rows)
        db.executemany(LINK, _links(rows))
        db.executemany("INSERT OR IGNORE INTO types VALUES (?)", {(row[2],) for row in rows})
        _add_rows(db, len(rows))
        db.execute("COMMIT")

    def finish_install(self, index: int) -> None:
        incoming = self._incoming
        if incoming is None:
            raise RuntimeError("no history install in progress")
        incoming.execute("INSERT OR REPLACE INTO meta VALUES ('applied_index', ?)", (index,))
        incoming.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        incoming.close()
        self._incoming = None
        if self._db is not None:
            self._db.close()
            self._db = None
        # the old file goes in one rename (a crash leaves the old history or the new,
        # never none); its WAL and shared memory must not be applied to the new one
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        os.replace(self.incoming_path, self.path)
        _sync_dir(self.path.parent)
        self._db = _connect(self.path)
        self._load_types()

    def close(self) -> None:
        for db in (self._incoming, self._db):
            if db is not None:
                db.close()
        self._db = self._incoming = None


def _add_rows(db: sqlite3.Connection, delta: int) -> None:
    db.execute(
        "INSERT INTO meta VALUES ('rows', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
        (delta,),
    )


def _first_seq_created(db: sqlite3.Connection, at: float) -> int:
    """The least seq created at or after ``at`` (past the end when there is none), by
    bisection on seq: creation times never decrease along it."""
    # two statements: SQLite answers a lone min() or max() from the rowid's ends, but
    # scans the table for both in one
    (lo,) = db.execute("SELECT min(seq) FROM jobs").fetchone()
    if lo is None:
        return _END
    (last,) = db.execute("SELECT max(seq) FROM jobs").fetchone()
    first_from = "SELECT seq, created_at FROM jobs WHERE seq >= ? ORDER BY seq LIMIT 1"
    hi = last + 1  # bisect for the least x whose next row was created at or after ``at``
    while lo < hi:
        mid = (lo + hi) // 2
        seq, created = db.execute(first_from, (mid,)).fetchone()
        if created >= at:
            hi = mid
        else:
            lo = seq + 1
    if lo > last:
        return _END
    return int(db.execute(first_from, (lo,)).fetchone()[0])


def _links(rows: Sequence[Sequence[Any]]) -> list[tuple[str, int, str]]:
    """The parents rows of received records: only a body holding options is read."""
    out: list[tuple[str, int, str]] = []
    for row in rows:
        if _OPTIONS_TAG not in row[8]:
            continue
        record = unpack_row(row)
        if record.options is not None:
            out.extend((parent, record.seq, record.id) for parent in record.options.depends_on)
    return out


def _purged(op: PurgeCmd) -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) of the records ``op`` removes."""
    where = [f"status IN ({', '.join('?' * len(op.statuses))})"]
    args: list[Any] = list(op.statuses)
    if op.type is not None:
        where.append("type = ?")
        args.append(op.type)
    if op.finished_before is not None:
        where.append("finished_at < ?")
        args.append(op.finished_before)
    return " AND ".join(where), args


def _remove(db: sqlite3.Connection, op: Op) -> int:
    if isinstance(op, Remove):
        return db.execute("DELETE FROM jobs WHERE id = ?", (op.job_id,)).rowcount
    if isinstance(op, PurgeCmd):
        where, args = _purged(op)
        return db.execute(f"DELETE FROM jobs WHERE {where}", args).rowcount
    if isinstance(op, RetainCmd):
        removed = db.execute("DELETE FROM jobs WHERE seq <= ?", (op.upto_seq,)).rowcount
        if op.finished_before is not None:
            removed += db.execute(
                "DELETE FROM jobs WHERE seq < ? AND finished_at < ?",
                (_first_seq_created(db, op.finished_before), op.finished_before),
            ).rowcount
        return removed
    raise TypeError(f"not a removal: {op!r}")


def _remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
