"""The history tests' records and operations: a record by its seq, a final child with its
link, the retention commands, and a follower's store installed from a leader's."""

from __future__ import annotations

from pathlib import Path

import attrs

from runtime.storage.history import HistoryBackend, Link, Op, insert
from runtime.storage.history_memory import MemoryHistory
from runtime.storage.history_sqlite import SqliteHistory
from transport.commands import PurgeCmd, RetainCmd
from transport.job_options import JobOptions
from transport.records import JobRecord


def Purge(statuses: tuple[str, ...], job_type: str | None, before: float | None) -> PurgeCmd:
    return PurgeCmd(0.0, statuses, job_type, before)


def Retain(before: float | None, upto_seq: int) -> RetainCmd:
    return RetainCmd(0.0, before, upto_seq)


STATUSES = ("succeeded", "failed", "dead", "cancelled")


def record(
    seq: int,
    *,
    status: str = "succeeded",
    job_type: str = "noop",
    created: float | None = None,
    finished: float | None = None,
    key: str | None = None,
    index: int | None = None,
) -> JobRecord:
    created = float(seq) if created is None else created
    done = created + 1 if finished is None else finished
    return JobRecord(
        seq, f"job-{seq}", job_type, status, b"\x80", 5, 3, None, None, key, created, 1, "w1",
        b"\xc0", "", "", created + 0.5, done, done, seq if index is None else index,
    )  # fmt: skip


def ids(records: list[JobRecord]) -> list[int]:
    return [r.seq for r in records]


def install(
    backend: HistoryBackend, tmp_path: Path, upto: int, batch: int, held: tuple[Op, ...] = ()
) -> HistoryBackend:
    """A follower's store of the same kind, holding ``held`` (which must go), that receives
    ``backend``'s records up to index ``upto`` in exported chunks of ``batch``."""
    target: HistoryBackend = (
        SqliteHistory(tmp_path / "follower.db")
        if isinstance(backend, SqliteHistory)
        else MemoryHistory()
    )
    target.open()
    if held:
        target.write(held, 3)
    target.begin_install()
    after = 0
    while (chunk := backend.export(upto, after, batch)) is not None:
        data, after = chunk
        target.receive(data)
    target.finish_install(upto)
    return target


def child(seq: int, *parents: str, status: str = "succeeded") -> list[Op]:
    """The operations a final child with ``parents`` leaves: its record, then its link."""
    options = JobOptions(depends_on=parents)
    return [insert(attrs.evolve(record(seq, status=status), options=options)), link(seq, *parents)]


def link(seq: int, *parents: str) -> Link:
    return Link(seq, f"job-{seq}", parents)
