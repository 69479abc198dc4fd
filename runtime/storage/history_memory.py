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

A parent's children come from the ``Link`` operations the master writes, as
SQLite's ``parents`` table does (not from the records' options), and go with
their child's record; a follower's installed copy reads them from the rows it
receives. So the simulator runs the production path of links, and its
convergence check compares them too (:meth:`HistoryImage.linked`).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence

import attrs
import msgpack

from runtime.storage.full import SpaceLimit
from runtime.storage.history import (
    Link,
    Op,
    Remove,
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
    # parent id -> {child seq: child id}: what ``children`` reads
    children: dict[str, dict[int, str]] = attrs.Factory(dict)
    # child seq -> its parents, so that a removed record takes its links with it
    parents: dict[int, tuple[str, ...]] = attrs.Factory(dict)

    def write(self, ops: Sequence[Op], applied: int) -> list[int]:
        removed = []
        for op in ops:
            if isinstance(op, tuple):
                record = unpack_row(op)
                self.rows[record.id] = record
                removed.append(0)
            elif isinstance(op, Link):
                self.link(op.child_seq, op.child_id, op.parents)
                removed.append(0)
            elif isinstance(op, Remove):
                # by id: one lookup, not a scan of every record
                dropped = self.rows.pop(op.job_id, None)
                if dropped is not None:
                    self._unlink(dropped.seq)
                removed.append(0 if dropped is None else 1)
            else:
                gone = [r for r in self.rows.values() if removes(op, r)]
                for r in gone:
                    del self.rows[r.id]
                    self._unlink(r.seq)
                removed.append(len(gone))
        self.applied = applied
        return removed

    def link(self, child_seq: int, child_id: str, parents: Sequence[str]) -> None:
        """``child_id`` (at ``child_seq``) depends on ``parents``; written again, once."""
        for parent in parents:
            self.children.setdefault(parent, {})[child_seq] = child_id
        self.parents[child_seq] = tuple(parents)

    def _unlink(self, child_seq: int) -> None:
        for parent in self.parents.pop(child_seq, ()):
            children = self.children[parent]
            del children[child_seq]
            if not children:
                del self.children[parent]

    def dump(self) -> list[tuple[object, ...]]:
        """Every record, in seq order: equal dumps mean equal records."""
        return [record_row(r) for r in sorted(self.rows.values(), key=lambda r: r.seq)]

    def linked(self) -> list[tuple[str, int, str]]:
        """Every link, (parent, child seq, child id) in order: with :meth:`dump`, equal
        means equal histories."""
        return sorted(
            (parent, seq, child)
            for parent, children in self.children.items()
            for seq, child in children.items()
        )


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
        return sorted(self.image.children.get(job_id, {}).items())[:limit]

    def has_links(self) -> bool:
        return bool(self.image.parents)

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
            # rows carry no links: a record's options name its parents, as SQLite reads them
            if record.options is not None and record.options.depends_on:
                self.incoming.link(record.seq, record.id, record.options.depends_on)

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
