"""The job history in memory, for the simulator and tests, with a crash that loses writes.

:class:`HistoryDisk` belongs to the simulated machine and outlives a node's
incarnations, like :class:`~runtime.storage.memory.MemoryDisk`. Writes are
visible at once but durable only after :meth:`MemoryHistory.sync`; a crash
keeps a prefix of the unsynced writes, each whole (a SQLite transaction is
atomic), which is what the real store promises after a power cut without
fsync. The master's recovery rule (replay the log from the last index the
store recorded) is what makes that safe, and the simulator exercises it.
While :attr:`HistoryDisk.space` says it is full, every write raises
:class:`~runtime.storage.full.StorageFull` and changes nothing.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence

import attrs
import msgpack

from runtime.storage.full import SpaceLimit
from runtime.storage.history import (
    Op,
    insert,
    removes,
    unpack_row,
)
from transport.records import JobQuery, JobRecord, record_row

__all__ = ["HistoryDisk", "HistoryImage", "MemoryHistory"]


@attrs.define
class HistoryImage:
    rows: dict[str, JobRecord] = attrs.Factory(dict)
    applied: int = 0

    def write(self, ops: Sequence[Op], applied: int) -> list[int]:
        removed = []
        for op in ops:
            if isinstance(op, tuple):
                record = unpack_row(op)
                self.rows[record.id] = record
                removed.append(0)
            else:
                gone = [job_id for job_id, r in self.rows.items() if removes(op, r)]
                for job_id in gone:
                    del self.rows[job_id]
                removed.append(len(gone))
        self.applied = applied
        return removed

    def dump(self) -> list[tuple[object, ...]]:
        """Every record, in seq order: equal dumps mean equal histories."""
        return [record_row(r) for r in sorted(self.rows.values(), key=lambda r: r.seq)]


class HistoryDisk:
    def __init__(self) -> None:
        self.durable = HistoryImage()
        self.visible = HistoryImage()
        self.unsynced: list[tuple[list[Op], int]] = []
        self.lost_writes = 0
        self.space = SpaceLimit()

    def crash(self, rng: random.Random) -> None:
        """Power lost: each unsynced write survives whole or not at all, in order."""
        for pos, (ops, applied) in enumerate(self.unsynced):
            if rng.random() < 0.5:
                self.lost_writes += len(self.unsynced) - pos
                break
            self.durable.write(ops, applied)
        self.unsynced.clear()
        self.visible = copy.deepcopy(self.durable)

    def wipe(self) -> None:
        """The data directory is gone."""
        self.__init__()  # type: ignore[misc]


class MemoryHistory:
    blocking = False

    def __init__(self, disk: HistoryDisk | None = None) -> None:
        self.disk = disk or HistoryDisk()
        self.incoming: HistoryImage | None = None

    @property
    def image(self) -> HistoryImage:
        return self.disk.visible

    def open(self) -> int:
        return self.image.applied

    def write(self, ops: Sequence[Op], applied_index: int) -> list[int]:
        self.disk.space.check()
        batch = list(ops)
        self.disk.unsynced.append((batch, applied_index))
        return self.image.write(batch, applied_index)

    def sync(self) -> None:
        self.disk.space.check()
        for ops, applied in self.disk.unsynced:
            self.disk.durable.write(ops, applied)
        self.disk.unsynced.clear()

    def get(self, job_id: str) -> JobRecord | None:
        return self.image.rows.get(job_id)

    def by_keys(self, keys: Sequence[str]) -> dict[str, JobRecord]:
        wanted = set(keys)
        return {
            r.idempotency_key: r
            for r in self.image.rows.values()
            if r.idempotency_key is not None and r.idempotency_key in wanted
        }

    def children(self, job_id: str, limit: int) -> list[tuple[int, str]]:
        """A scan of every record (the simulator's histories are small); link operations
        are not kept: a record's options say who its parents are."""
        found = sorted(
            (r.seq, r.id)
            for r in self.image.rows.values()
            if r.options is not None and job_id in r.options.depends_on
        )
        return found[:limit]

    def has_links(self) -> bool:
        return any(r.options is not None and r.options.depends_on for r in self.image.rows.values())

    def query(self, q: JobQuery) -> list[JobRecord]:
        found = sorted(
            (
                r
                for r in self.image.rows.values()
                if q.admits(r.status, r.type, r.created_at, r.seq) and q.owns(r.options)
            ),
            key=lambda r: r.seq,
            reverse=not q.ascending,
        )
        return found[: q.limit]

    def count(self) -> int:
        return len(self.image.rows)

    def finished_before(self, at: float) -> bool:
        return any(
            r.finished_at is not None and r.finished_at < at for r in self.image.rows.values()
        )

    def cutoff(self, keep: int, rows: int) -> int | None:
        seqs = sorted(r.seq for r in self.image.rows.values())
        excess = len(seqs) - keep
        return seqs[excess - 1] if excess > 0 else None

    def export(self, upto_index: int, after_seq: int, limit: int) -> tuple[bytes, int] | None:
        rows = sorted(
            (
                r
                for r in self.image.rows.values()
                if r.seq > after_seq and r.finished_index <= upto_index
            ),
            key=lambda r: r.seq,
        )[:limit]
        if not rows:
            return None
        return msgpack.packb([insert(r) for r in rows], use_bin_type=True), rows[-1].seq

    def begin_install(self) -> None:
        self.incoming = HistoryImage()

    def receive(self, data: bytes) -> None:
        if self.incoming is None:
            raise RuntimeError("no history install in progress")
        self.disk.space.check()
        for row in msgpack.unpackb(data, raw=False):
            record = unpack_row(row)
            self.incoming.rows[record.id] = record

    def finish_install(self, index: int) -> None:
        if self.incoming is None:
            raise RuntimeError("no history install in progress")
        self.disk.space.check()
        self.incoming.applied = index
        self.disk.unsynced.clear()
        self.disk.durable = self.incoming
        self.disk.visible = copy.deepcopy(self.incoming)
        self.incoming = None

    def close(self) -> None:
        self.incoming = None
