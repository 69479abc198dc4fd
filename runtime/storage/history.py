"""Each master's job history: finished jobs, written from the log, read by the API.

Every master applies the same committed commands in the same order, and the
jobs they finish leave the live table as :class:`~transport.records.JobRecord`
rows for this store, so every master's history is identical. Removals are
commands too (retention, delete, purge), written as predicates over records
(the log's own :class:`~transport.commands.PurgeCmd` and
:class:`~transport.commands.RetainCmd`) or single ids, so they remove the same
rows everywhere whatever order rows arrived in.

Writing costs the hot path nothing it waits for. :meth:`History.record` only
appends to a pending list; a background task (:meth:`History.run`) gathers
operations for a few milliseconds and writes them in one transaction with no
fsync of its own, together with the index of the last entry applied. The Raft log is the durable
source: after a crash the store reopens at the last index it recorded
(:meth:`History.open`) and the master replays the log from its snapshot,
dropping the operations of entries the store already holds. The log is never
compacted past what the store has made durable (:meth:`History.persist`
runs before every compaction), so that replay always has the entries it needs.

A full disk is waited out: a write that does not fit is kept pending (reads
still see it) and tried again every :data:`FULL_RETRY_S`, and :attr:`History.full`
says why meanwhile. Nothing is lost, since the log holds every entry the
store has not recorded.

Reads are consistent: under the same lock that the writer holds while
writing, a read takes the backend's answer and lays the still-pending
operations over it, so it sees the state as of the last applied entry, not
of the last write.

A backend does the storage itself, synchronously: SQLite on one worker
thread (:mod:`runtime.storage.history_sqlite`), or plain memory for the
simulator (:mod:`runtime.storage.history_memory`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, Union

import anyio
import anyio.to_thread
import attrs
import msgpack
import trio

from runtime.storage.full import StorageFull, as_storage_full
from transport.codec import encode, packer
from transport.commands import PurgeCmd, RetainCmd
from transport.commands import removes as removes_record
from transport.job_options import JobOptions, decode_options
from transport.records import JobQuery, JobRecord

__all__ = [
    "FINAL_STATUSES",
    "History",
    "HistoryBackend",
    "Link",
    "Op",
    "Remove",
    "Row",
    "insert",
    "pack_row",
    "removes",
    "unpack_row",
]

log = logging.getLogger("podium.history")

T = TypeVar("T")

FINAL_STATUSES = ("succeeded", "failed", "dead", "cancelled")
# pending operations past which the master waits for the writer before applying more
CONGESTED = 200_000
# the writer gathers operations for up to this long, or this many, per transaction:
# fewer, larger writes cost less per record and wake the event loop less often
COALESCE_S = 0.02
COALESCE_OPS = 4096
# how often the writer tries again while the disk is full
FULL_RETRY_S = 0.5


@attrs.frozen
class Remove:
    """One record, by id: a deleted job, or a retried one that is live again."""

    job_id: str


@attrs.frozen
class Link:
    """A final job's parents (its ``depends_on``), written beside its record, so that a
    parent's children are found by an index rather than by reading every record."""

    child_seq: int
    child_id: str
    parents: tuple[str, ...]


# An operation on the history, in log order: a row inserts that record (see
# :func:`pack_row`); removals by predicate are the log's own commands, so both sides
# read them alike.
Op = Union["Row", Remove, PurgeCmd, RetainCmd, Link]


# How a backend stores a record, and how a snapshot transfer carries it: the fields
# queries filter on as columns, the rest packed into one msgpack ``body`` (fewer
# values to bind per row, a smaller table).
ROW_COLUMNS = (
    "seq",
    "id",
    "type",
    "status",
    "idempotency_key",
    "created_at",
    "finished_at",
    "finished_index",
    "body",
    # who submitted the job (JobOptions.owner, also in the body): a column of its own
    # so a user's listing walks an index rather than every record
    "owner",
)
Row = tuple[int, str, str, str, str | None, float, float | None, int, bytes, str | None]


class RecordLike(Protocol):
    """A live job as it leaves memory, or a :class:`JobRecord`: the same field names."""

    seq: int
    id: str
    type: str
    payload: bytes
    priority: int
    max_retries: int
    timeout_s: float | None
    run_at: float | None
    idempotency_key: str | None
    created_at: float
    attempts: int
    worker: str | None
    result: bytes | None
    error: str
    last_reason: str
    started_at: float | None
    finished_at: float | None
    updated_at: float
    attempts_log: bytes
    options: JobOptions | None


def pack_row(r: RecordLike, status: str, finished_index: int) -> Row:
    """The row that stores ``r`` (built on the event loop as a job finishes, so the
    writer's thread holds the GIL for nothing but SQLite's own calls)."""
    body = packer().pack(
        (
            r.payload,
            r.priority,
            r.max_retries,
            r.timeout_s,
            r.run_at,
            r.attempts,
            r.worker,
            r.result,
            r.error,
            r.last_reason,
            r.started_at,
            r.updated_at,
            r.attempts_log,
            None if r.options is None else encode(r.options),
        )
    )
    return (
        r.seq,
        r.id,
        r.type,
        status,
        r.idempotency_key,
        r.created_at,
        r.finished_at,
        finished_index,
        body,
        None if r.options is None else r.options.owner,
    )


def insert(record: JobRecord) -> Row:
    """The operation that adds ``record``."""
    return pack_row(record, record.status, record.finished_index)


def unpack_row(row: Sequence[Any]) -> JobRecord:
    seq, job_id, job_type, status, key, created_at, finished_at, finished_index, body = row[:9]
    (
        payload,
        priority,
        max_retries,
        timeout_s,
        run_at,
        attempts,
        worker,
        result,
        error,
        last_reason,
        started_at,
        updated_at,
        *later,  # absent from rows written before attempts were logged, or options kept
    ) = msgpack.unpackb(body, raw=False)
    attempts_log = later[0] if later else b""
    options = decode_options(later[1]) if len(later) > 1 and later[1] is not None else None
    return JobRecord(
        seq,
        job_id,
        job_type,
        status,
        payload,
        priority,
        max_retries,
        timeout_s,
        run_at,
        key,
        created_at,
        attempts,
        worker,
        result,
        error,
        last_reason,
        started_at,
        finished_at,
        updated_at,
        finished_index,
        attempts_log,
        options,
    )


def removes(op: Op, record: JobRecord) -> bool:
    """Whether ``op`` removes ``record``."""
    if isinstance(op, Remove):
        return op.job_id == record.id
    if isinstance(op, tuple | Link):
        return False
    return removes_record(op, record.seq, record.status, record.type, record.finished_at)


class HistoryBackend(Protocol):
    """Synchronous storage for :class:`History`; ``blocking`` ones run on a thread."""

    blocking: bool

    def open(self) -> int:
        """Open (creating if needed); the index of the last entry whose operations it holds."""

    def write(self, ops: Sequence[Op], applied_index: int) -> list[int]:
        """Apply ``ops`` in order and record ``applied_index``, atomically, without fsync;
        returns how many records each op removed (0 for inserts)."""

    def sync(self) -> None:
        """Make every write so far durable."""

    def get(self, job_id: str) -> JobRecord | None: ...

    def by_keys(self, keys: Sequence[str]) -> dict[str, JobRecord]: ...

    def children(self, job_id: str, limit: int) -> list[tuple[int, str]]:
        """(seq, id) of up to ``limit`` records linked to parent ``job_id``, by seq."""

    def has_links(self) -> bool:
        """Whether any record is linked to a parent (asked at open and after an install)."""

    def query(self, q: JobQuery) -> list[JobRecord]:
        """Up to ``q.limit`` records matching ``q``, in seq order."""

    def count(self) -> int:
        """Records kept (counted once, at open; the front keeps the figure after that)."""

    def finished_before(self, at: float) -> bool:
        """Whether any record finished before ``at``."""

    def cutoff(self, keep: int, rows: int) -> int | None:
        """The seq up to which records go so that ``keep`` of ``rows`` remain."""

    def export(self, upto_index: int, after_seq: int, limit: int) -> tuple[bytes, int] | None:
        """Records finished at or before ``upto_index`` with seq above ``after_seq``, as a
        msgpack list of rows (:func:`pack_row`), and the last seq; None when none are left."""

    def begin_install(self) -> None:
        """Start receiving a leader's history into a fresh, separate store."""

    def receive(self, data: bytes) -> None:
        """Add a batch that :meth:`export` packed to the store being received."""

    def finish_install(self, index: int) -> None:
        """Make the received store (holding everything up to ``index``) this one, durably."""

    def close(self) -> None: ...


class History:
    """The history front a master uses: buffered writes, consistent reads, recovery."""

    def __init__(self, backend: HistoryBackend) -> None:
        self.backend = backend
        self._limiter = anyio.CapacityLimiter(1)
        self._lock = trio.Lock()
        self._pending: list[tuple[Op, Callable[[int], None] | None]] = []
        self._wake = trio.Event()
        self._full = trio.Event()
        self._flushed = trio.Event()
        # the last applied index recorded, and the last one written to the backend
        self.recorded = 0
        self.written = 0
        # operations of entries up to here are already in the store (replayed after a crash)
        self.recovered = 0
        self.rows = 0
        # whether a record may be linked to a parent: until one is, children reads nothing
        # (removals never clear it: a stale True costs a read, never a wrong answer)
        self.linked = False
        self.opened = False
        # why the last write failed, while the disk is full (None once one succeeds)
        self.full: str | None = None

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        try:
            if self.backend.blocking:
                return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
            result = fn(*args)
        except Exception as exc:
            # a SQLite backend names its file, which tells a full disk's I/O errors apart
            full = as_storage_full(exc, getattr(self.backend, "path", None))
            if full is None:
                raise
            raise full from exc
        await trio.lowlevel.checkpoint()
        return result

    # -- opening and writing -------------------------------------------------------

    async def open(self) -> int:
        """Open the store; returns the last index it holds (replay skips up to there)."""
        index = await self._call(self.backend.open)
        self.recorded = self.written = self.recovered = index
        self.rows = await self._call(self.backend.count)
        self.linked = await self._call(self.backend.has_links)
        self.opened = True
        return index

    def record(self, index: int, op: Op, done: Callable[[int], None] | None = None) -> None:
        """Queue ``op`` of entry ``index``; ``done`` gets how many records it removed, once
        written. Operations of entries the store already holds are dropped."""
        if index <= self.recovered:
            if done is not None:
                done(0)
            return
        if isinstance(op, Link):
            self.linked = True
        pending = self._pending
        pending.append((op, done))
        if len(pending) >= COALESCE_OPS:
            self._full.set()

    def advance(self, index: int) -> None:
        """Entries up to ``index`` are applied; write what they queued soon."""
        if index > self.recorded:
            self.recorded = index
            self._wake.set()

    @property
    def congested(self) -> bool:
        """Whether the master should wait for the writer before applying more. Not while
        the disk is full: waiting would stop the master answering anything, and a full
        disk stops its Raft log too, so nothing new is applied meanwhile anyway."""
        return len(self._pending) > CONGESTED and self.full is None

    async def wait_flushed(self) -> None:
        """Until the writer finishes its current (or next) write."""
        await self._flushed.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The writer: whatever is pending, in one transaction, as soon as it can."""
        task_status.started()
        while True:
            await self._wake.wait()
            with trio.move_on_after(COALESCE_S):
                await self._full.wait()
            self._wake = trio.Event()
            self._full = trio.Event()
            try:
                async with self._lock:
                    await self._flush_locked()
            except StorageFull:
                await trio.sleep(FULL_RETRY_S)
                self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not self._pending and self.written >= self.recorded:
            return
        batch, self._pending = self._pending, []
        index = self.recorded
        try:
            removed = await self._call(self.backend.write, [op for op, _ in batch], index)
        except StorageFull as exc:
            # nothing was written: the batch goes back in front of what came meanwhile
            self._pending = batch + self._pending
            if self.full is None:
                log.warning("history write failed: disk full", extra={"error": str(exc)})
            self.full = str(exc)
            raise
        if self.full is not None:
            log.info("history writes resumed")
            self.full = None
        self.written = index
        for (op, done), n in zip(batch, removed, strict=True):
            self.rows += 1 if isinstance(op, tuple) else -n
            if done is not None:
                done(n)
        flushed, self._flushed = self._flushed, trio.Event()
        flushed.set()

    async def persist(self, index: int) -> None:
        """Make everything up to ``index`` durable (before the log is compacted to it)."""
        async with self._lock:
            await self._flush_locked()
            if self.written < index:
                raise RuntimeError(f"history holds up to {self.written}, not {index}")
            await self._call(self.backend.sync)

    async def close(self) -> None:
        if not self.opened:
            return
        with trio.CancelScope(shield=True):
            async with self._lock:
                try:
                    await self._flush_locked()
                except StorageFull:
                    # the log still holds these entries: the next start replays them
                    log.warning("history closed with writes pending: disk full")
                await self._call(self.backend.close)
        self.opened = False

    # -- consistent reads ----------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        async with self._lock:
            record = await self._call(self.backend.get, job_id)
            for op, _ in self._pending:
                if isinstance(op, tuple):
                    if op[1] == job_id:
                        record = unpack_row(op)
                elif record is not None and removes(op, record):
                    record = None
            return record

    async def get_many(self, job_ids: Sequence[str]) -> dict[str, JobRecord]:
        """The records of those of ``job_ids`` that are here, in one trip to the store's
        thread (a client waiting on a batch asks for thousands at once)."""
        backend = self.backend

        def read() -> dict[str, JobRecord]:
            found = ((job_id, backend.get(job_id)) for job_id in job_ids)
            return {job_id: record for job_id, record in found if record is not None}

        async with self._lock:
            records = await self._call(read)
            wanted = set(job_ids)
            for op, _ in self._pending:
                if isinstance(op, tuple):
                    if op[1] in wanted:
                        records[op[1]] = unpack_row(op)
                else:
                    for job_id in [i for i, r in records.items() if removes(op, r)]:
                        del records[job_id]
            return records

    async def by_keys(self, keys: Sequence[str]) -> dict[str, JobRecord]:
        """Records holding any of these idempotency keys."""
        async with self._lock:
            found = await self._call(self.backend.by_keys, keys) if keys else {}
            wanted = set(keys)
            for op, _ in self._pending:
                if isinstance(op, tuple):
                    key = op[4]
                    if key is not None and key in wanted:
                        found[key] = unpack_row(op)
                else:
                    for key in [k for k, r in found.items() if removes(op, r)]:
                        del found[key]
            return found

    async def children(self, job_id: str, limit: int) -> list[tuple[int, str]]:
        """(seq, id) of up to ``limit`` final jobs that named ``job_id`` in their
        ``depends_on``, in submission order. While no final job has parents, which is
        every cluster that never used ``depends_on``, this reads nothing (a job's GET
        asks every time)."""
        if not self.linked:
            return []
        want = limit
        while True:
            async with self._lock:
                stored = await self._call(self.backend.children, job_id, want)
                found = dict(stored)
                for op, _ in self._pending:
                    if isinstance(op, Link) and job_id in op.parents:
                        found[op.child_seq] = op.child_id
            first = [(seq, found[seq]) for seq in sorted(found)[:want]]
            # a child whose removal is still pending has no record: leave it out, and
            # look further when that left the page short
            present = await self.get_many([i for _, i in first]) if first else {}
            kept = [(seq, i) for seq, i in first if i in present]
            if len(kept) >= limit or len(stored) < want:
                return kept[:limit]
            want *= 2

    async def query(self, q: JobQuery) -> tuple[list[JobRecord], bool]:
        """A page for ``q`` as of now, and whether the store may hold more beyond it."""
        async with self._lock:
            rows = await self._call(self.backend.query, q)
            more = len(rows) >= q.limit
            if self._pending:
                rows, found = _overlay(rows, [op for op, _ in self._pending], q)
                # records still being written can fill a page beyond the stored ones
                more = more or found > q.limit
            return rows, more

    async def finished_before(self, at: float) -> bool:
        return await self._call(self.backend.finished_before, at)

    async def cutoff(self, keep: int) -> int | None:
        """Where retention must cut so that ``keep`` records remain (None: nothing to cut)."""
        if self.rows <= keep:
            return None
        return await self._call(self.backend.cutoff, keep, self.rows)

    # -- catching a follower up ---------------------------------------------------------

    async def export(self, upto_index: int, batch: int = 2000) -> AsyncIterator[bytes]:
        """Every record finished at or before ``upto_index``, in packed batches.

        Records removed after ``upto_index`` may be missing and records added
        after it are left out; replaying the log after ``upto_index`` on the
        receiving side removes and adds exactly those again.
        """
        after = 0
        while True:
            chunk = await self._call(self.backend.export, upto_index, after, batch)
            if chunk is None:
                return
            data, after = chunk
            yield data

    async def begin_install(self) -> None:
        await self._call(self.backend.begin_install)

    async def receive(self, data: bytes) -> None:
        await self._call(self.backend.receive, data)

    async def finish_install(self, index: int) -> None:
        """Replace this store by the received one, which holds everything up to ``index``."""
        async with self._lock:
            self._pending.clear()
            await self._call(self.backend.finish_install, index)
            self.recorded = self.written = self.recovered = index
            self.rows = await self._call(self.backend.count)
            self.linked = await self._call(self.backend.has_links)


def _overlay(rows: list[JobRecord], ops: Iterable[Op], q: JobQuery) -> tuple[list[JobRecord], int]:
    """``rows`` (a page from the backend) with pending operations applied, in order, and
    how many records matched before the page was cut to ``q.limit``."""
    kept = {r.id: r for r in rows}
    for op in ops:
        if isinstance(op, tuple):
            record = unpack_row(op)
            if q.admits(record.status, record.type, record.created_at, record.seq):
                kept[record.id] = record
            else:
                kept.pop(record.id, None)
        else:
            for job_id in [i for i, r in kept.items() if removes(op, r)]:
                del kept[job_id]
    pick = heapq.nsmallest if q.ascending else heapq.nlargest
    return pick(q.limit, kept.values(), key=_seq), len(kept)


def _seq(record: JobRecord) -> int:
    return record.seq
