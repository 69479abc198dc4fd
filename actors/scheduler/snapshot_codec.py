"""The live job table as snapshot bytes, and back, in pieces, with a format version.

A snapshot is a stream of msgpack objects: first ``[FORMAT, header]`` (the
counters, workers, retention policy, type limits and pauses, and schedules),
then pieces of up to :data:`ROWS_PER_PIECE` rows each: the recent idempotency
keys, the live jobs in submission order, then what dependent jobs need beyond
their rows (the final parents they wait on or read, and the blocked jobs due to
be looked at; the parent -> children index is rebuilt from the jobs).
Encoding and decoding are generators of pieces, so the Raft actor can yield
to the event loop between pieces and a large backlog never stalls it; the
table must not change while a snapshot is being encoded (the actor pauses
applying meanwhile).

Only live work is in here: finished jobs are in the history store, which a
follower that catches up receives separately.

Format 1 was the table before the history existed (every job ever run, no
version); format 2 is this one. Restoring any other is a
:class:`SnapshotFormatError` that says which, never a crash halfway through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import msgpack

from actors.scheduler.lifecycle import JobStatus, WorkerState
from actors.scheduler.records import JOB_FIELDS, Job, Worker
from actors.scheduler.state import JobStateMachine, Retention
from transport.codec import encode
from transport.job_options import decode_options

__all__ = [
    "FORMAT",
    "ROWS_PER_PIECE",
    "SnapshotFormatError",
    "encode_pieces",
    "restore",
    "restore_steps",
]

FORMAT = 2
ROWS_PER_PIECE = 500
_STATUS = "status"
_OPTIONS = "options"
# the fields appended to a job row since format 2 began, with the values older rows mean
_LATER_DEFAULTS = (b"", None)  # attempts_log, options
# what a piece after the header holds
_KEYS, _JOBS, _FINALS, _CANDIDATES = "k", "j", "f", "c"


class SnapshotFormatError(ValueError):
    """The snapshot was written in a format this podium does not read."""


def encode_pieces(sm: JobStateMachine, rows_per_piece: int = ROWS_PER_PIECE) -> Iterator[bytes]:
    """The snapshot of ``sm`` as consecutive byte strings (join them to get the whole)."""
    header = {
        "applied_index": sm.applied_index,
        "next_seq": sm.next_seq,
        "clock": sm.now,
        "stale_reports": sm.stale_reports,
        "lease_timeouts": sm.lease_timeouts,
        "retries": sm.retries_by_reason,
        "entered": [[t, s, n] for (t, s), n in sorted(sm.entered.items())],
        "counts": [[t, s, n] for (t, s), n in sorted(sm.counts_by_type_status.items())],
        "retention": [sm.retention.keep_finished_s, sm.retention.max_finished],
        "workers": [
            [w.id, w.capacity, list(w.types), w.state.value, w.registered_at, w.prefetch]
            for w in sm.workers()
        ],
        "keys": len(sm.recent_keys),
        "jobs": len(sm.jobs),
        "schedules": sm.schedules.rows(),
        "schedule_serial": sm.schedules.serial,
        "control": sm.control.rows(),
        "finals": len(sm.deps.finals),
        "candidates": len(sm.deps.candidates),
    }
    yield msgpack.packb([FORMAT, header], use_bin_type=True)
    recent = sm.recent_keys
    keys = (
        [key, *seen]
        for index, key in sm.recent_order
        if (seen := recent.get(key)) is not None and seen[0] == index
    )
    yield from _chunked(_KEYS, keys, rows_per_piece)
    by_seq = sm.by_seq
    jobs = (
        [_cell(job, f) for f in JOB_FIELDS]
        for seq in sm.seq_index
        if (job := by_seq.get(seq)) is not None
    )
    yield from _chunked(_JOBS, jobs, rows_per_piece)
    yield from _chunked(_FINALS, sm.deps.final_rows(), rows_per_piece)
    yield from _chunked(_CANDIDATES, sm.deps.candidates, rows_per_piece)


def _chunked(kind: str, rows: Iterable[Any], rows_per_piece: int) -> Iterator[bytes]:
    """``rows`` as pieces of ``kind`` holding up to ``rows_per_piece`` each (none for no
    rows); rows are made only as their piece is, so a large table is never copied."""
    it = iter(rows)
    while piece := list(islice(it, rows_per_piece)):
        yield msgpack.packb([kind, piece], use_bin_type=True)


def _cell(job: Job, field: str) -> Any:
    if field == _STATUS:
        return job.status._value_
    if field == _OPTIONS:
        return None if job.options is None else encode(job.options)
    return getattr(job, field)


def restore_steps(sm: JobStateMachine, data: bytes) -> Iterator[None]:
    """Replace ``sm``'s state with the snapshot ``data``, one piece per step."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(data) + 1)
    unpacker.feed(data)
    try:
        first = next(unpacker)
    except (StopIteration, ValueError) as exc:
        raise SnapshotFormatError(f"not a job table snapshot: {exc}") from None
    _check_format(first)
    header = first[1]
    sm._reset()
    _restore_header(sm, header)
    yield
    for kind, rows in unpacker:
        if kind == _KEYS:
            for key, index, job_id, status, job_type, finished_at, seq in rows:
                sm.recent_keys[key] = (index, job_id, status, job_type, finished_at, seq)
                sm.recent_order.append((index, key))
        elif kind == _FINALS:
            sm.deps.restore_finals(rows)
        elif kind == _CANDIDATES:
            sm.deps.restore_candidates(rows)
        else:
            for row in rows:
                _restore_job(sm, row)
        yield
    # a snapshot from before dependencies has neither count (nor any such piece)
    finals, candidates = header.get("finals", 0), header.get("candidates", 0)
    if (
        len(sm.jobs) != header["jobs"]
        or len(sm.recent_keys) != header["keys"]
        or len(sm.deps.finals) != finals
        or len(sm.deps.candidates) != candidates
    ):
        raise SnapshotFormatError(
            f"snapshot is truncated: {len(sm.jobs)} of {header['jobs']} live jobs, "
            f"{len(sm.recent_keys)} of {header['keys']} recent keys, "
            f"{len(sm.deps.finals)} of {finals} final parents, "
            f"{len(sm.deps.candidates)} of {candidates} blocked jobs to look at"
        )


def restore(sm: JobStateMachine, data: bytes) -> None:
    for _ in restore_steps(sm, data):
        pass


def _check_format(first: object) -> None:
    if isinstance(first, list) and len(first) == 2 and isinstance(first[0], int):
        if first[0] == FORMAT and isinstance(first[1], dict):
            return
        raise SnapshotFormatError(
            f"snapshot format {first[0]} is not supported: this podium reads format {FORMAT}"
        )
    if isinstance(first, list) and len(first) == 3 and isinstance(first[0], list):
        raise SnapshotFormatError(
            f"snapshot format 1 (every job in memory, from podium before the history store) "
            f"is not supported: this podium reads format {FORMAT}"
        )
    raise SnapshotFormatError("not a job table snapshot: no format header")


def _restore_header(sm: JobStateMachine, header: dict[str, Any]) -> None:
    sm.applied_index = header["applied_index"]
    sm.next_seq = header["next_seq"]
    sm.now = header["clock"]
    sm.stale_reports = header["stale_reports"]
    sm.lease_timeouts = header["lease_timeouts"]
    sm.retries_by_reason = dict(header["retries"])
    sm.entered = {(t, s): n for t, s, n in header["entered"]}
    sm.counts_by_type_status = {(t, s): n for t, s, n in header["counts"]}
    keep, cap = header["retention"]
    sm.retention = Retention(keep, cap)
    # limits and pauses (with their token buckets); a snapshot from before them has none
    sm.control.restore(header.get("control", []))
    # a worker row without its prefetch was written before workers queued jobs
    for worker_id, capacity, types, state, registered_at, *prefetch in header["workers"]:
        worker = Worker(worker_id, capacity, tuple(types), *prefetch[:1])
        worker.state = WorkerState(state)
        worker.registered_at = registered_at
        sm.workers_by_id[worker_id] = worker
    # a snapshot from before schedules holds none
    sm.schedules.restore(header.get("schedules", []), header.get("schedule_serial", 0))


def _restore_job(sm: JobStateMachine, row: list[Any]) -> None:
    job = Job.__new__(Job)
    missing = len(JOB_FIELDS) - len(row)
    if 0 < missing <= len(_LATER_DEFAULTS):  # written before those fields existed
        row = [*row, *_LATER_DEFAULTS[-missing:]]
    for name, value in zip(JOB_FIELDS, row, strict=True):
        setattr(job, name, value)
    job.status = JobStatus(job.status)
    packed: Any = job.options
    if packed is not None:  # the row holds the options encoded
        job.options = decode_options(packed)
    sm._add(job)
    if job.status is JobStatus.PENDING:
        sm.queue.push(job.id, job.type, job.priority, job.due, job.seq)
    elif job.status is JobStatus.SCHEDULED:
        sm.scheduled.add(job.id)
        assert job.run_at is not None
        sm.queue.delay(job.id, job.type, job.priority, job.run_at, job.seq)
    elif job.status is JobStatus.RUNNING:
        owner = sm.workers_by_id.get(job.worker or "")
        if owner is not None:
            owner.running.add(job.id)
