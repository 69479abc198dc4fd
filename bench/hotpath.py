"""The scheduling hot path: worker selection per policy, and the job state machine's steps.

``policy.<name>@<workers>`` is one choose plus one release on a pool of
workers with 8 slots each, half of them partly busy. ``schedule.cycle@<workers>``
is what the leader does per job, in its batches of 64, through its
dispatch core (``actors.scheduler.dispatch``): bring the pool in step with
the table, peek the next due jobs, choose a worker for each, apply the
batch's assignment to the state machine and build what goes to each
worker (the submits that refill the queue are not timed; ``submit.apply``
measures them); ``schedule.cycle.limited@<workers>`` is the same with the
type under a rate limit that never binds, so every job takes its token as
its assignment applies, and the peek is capped by the limits' room;
``schedule.cycle@100+10000blocked`` is the plain cycle with ten thousand
blocked jobs waiting on a parent that never ends, which must cost it nothing
(they are live work, not in the ready order). ``submit.apply`` and
``complete.apply`` are the state machine's cost per job for those commands
(completion includes turning the finished job into its history record);
``complete.apply.events`` is ``complete.apply`` with each command's events
derived into a full ring around it, as every master does (the difference is
what events cost a job when nobody listens); ``worker.capture`` is a
worker's output bookkeeping for one job that prints nothing; ``history.write``
is the history writer's cost per finished job.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from random import Random

import msgpack

from actors.master.event_feed import EventFeed
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from actors.scheduler.policies import POLICIES, make_pool
from actors.scheduler.state import JobStateMachine
from actors.worker.output import RecentOutputs
from actors.worker.output_capture import capturing
from bench.deps import blocked_children
from bench.harness import BenchCase
from runtime.storage.history import insert, pack_row
from runtime.storage.history_sqlite import SqliteHistory
from transport.codec import Message
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    SubmitCmd,
)
from transport.limit_commands import SetLimitCmd
from transport.records import JobRecord

PAYLOAD = msgpack.packb({"n": 1})
OPS = 1024
# the leader's default assignment batch (scheduler.assign_batch)
BATCH = 64
# long enough that no lease runs out in a run (the bench's clock stands still)
LEASE_S = 1e9


def _policy(name: str, workers: int) -> BenchCase:
    pool = make_pool(name, Random(1))
    for w in range(workers):
        pool.add(f"w{w}", 8, ("noop",), free=8 if w % 2 else 4)

    def run() -> int:
        choose, release = pool.choose, pool.release
        for _ in range(OPS):
            worker = choose("noop")
            assert worker is not None
            release(worker)
        return OPS

    return BenchCase(f"policy.{name}@{workers}", run)


def _machine(workers: int) -> JobStateMachine:
    sm = JobStateMachine()
    for w in range(workers):
        sm.apply_command(RegisterWorkerCmd(0.0, f"w{w}", 1_000_000, ("noop",)))
    return sm


def _jobs(start: int, count: int) -> tuple[NewJob, ...]:
    return tuple(
        NewJob(f"j{start + i}", "noop", PAYLOAD, 5, 3, None, None, None) for i in range(count)
    )


def _cycle(workers: int, *, limited: bool = False, blocked: int = 0) -> BenchCase:
    sm = _machine(workers)
    if limited:
        sm.apply_command(SetLimitCmd(0.0, "noop", 1e12, 1e12, None))
    if blocked:
        sm.apply_command(SubmitCmd(1.0, blocked_children("waited-on", blocked)))
    # the leader's own bookkeeping, as a master runs it: the pool kept in step with the
    # table, the limits' room, the batch, then what goes to each worker once applied
    dispatch = Dispatcher(
        sm, Leases(LEASE_S), policy="least_loaded", lease_s=LEASE_S, max_batch=BATCH
    )
    dispatch.take_over(1, 2.0, Random(1))
    for w in range(workers):
        dispatch.leases.heard_from(f"w{w}", 2.0)  # each worker's first heartbeat
    counter = [0]

    def refill() -> None:
        sm.apply_command(SubmitCmd(1.0, _jobs(counter[0], OPS)))
        counter[0] += OPS

    def run() -> int:
        done = 0
        while done < OPS:
            cmd = dispatch.plan(2.0).assign
            assert cmd is not None
            sm.apply_command(cmd)
            dispatch.assigned(cmd, True, cmd.now)
            done += len(cmd.assignments)
        return done

    name = "schedule.cycle.limited" if limited else "schedule.cycle"
    name = f"{name}@{workers}" + (f"+{blocked}blocked" if blocked else "")
    return BenchCase(name, run, refill)


def _submit() -> BenchCase:
    sm = _machine(1)
    counter = [0]

    def run() -> int:
        sm.apply_command(SubmitCmd(1.0, _jobs(counter[0], OPS)))
        counter[0] += OPS
        return OPS

    return BenchCase("submit.apply", run)


def _complete(*, events: bool = False) -> BenchCase:
    sm = _machine(1)
    # the master's default ring (http.events_retained), full after a few rounds
    feed = EventFeed(10_000) if events else None
    counter = [0]
    result = msgpack.packb(None)

    def apply(cmd: Message) -> None:
        if feed is None:
            sm.apply_command(cmd)
            return
        # as _JobLog.apply does: capture, apply, derive into the ring
        before = feed.before(sm, cmd)
        answer = sm.apply_command(cmd)
        feed.after(counter[1], cmd, answer, sm, before)
        counter[1] += 1

    def run() -> int:
        start = counter[0]
        counter[0] += OPS
        apply(SubmitCmd(1.0, _jobs(start, OPS)))
        ids = [f"j{start + i}" for i in range(OPS)]
        apply(AssignCmd(2.0, tuple(AssignmentCmd(i, "w0", 1, 1e12) for i in ids)))
        items = tuple(ReportItem(i, 1, True, result, "", False, 0.0) for i in ids)
        apply(ReportCmd(3.0, "w0", items))
        # what the master does next on the loop: the finished jobs become history rows
        for index, job in sm.take_finished():
            pack_row(job, job.status._value_, index)
        return OPS

    counter.append(1)  # the log index of the next command
    return BenchCase("complete.apply.events" if events else "complete.apply", run)


def _capture() -> BenchCase:
    """A worker's output bookkeeping around one job that prints nothing: the capture
    begun, the context routed to it and back, the capture ended and (not) shipped."""
    outputs = RecentOutputs()
    counter = [0]

    def run() -> int:
        start = counter[0]
        counter[0] += OPS
        for n in range(start, start + OPS):
            job_id = f"j{n}"
            output = outputs.start(job_id, 1)
            with capturing(output):
                pass
            outputs.finish(job_id, 1)
            assert not output.total  # ship_output's test: nothing to send
        return OPS

    return BenchCase("worker.capture", run)


def _record(n: int, payload: bytes, result: bytes) -> JobRecord:
    """A finished no-op job as the history gets it (ids sort by time, as podium's do)."""
    return JobRecord(
        n, f"019b{n:028x}", "noop", "succeeded", payload, 5, 3, None, None, None,
        1.0 + n, 1, "w0", result, "", "", 2.0 + n, 3.0 + n, 3.0 + n, n,
    )  # fmt: skip


def _history_write() -> BenchCase:
    """The history writer's cost per finished job: one transaction per batch of 1024
    records into SQLite (WAL, no fsync), on the writer's thread in a real master."""
    directory = Path(tempfile.mkdtemp(prefix="podium-bench-history-"))
    store = SqliteHistory(directory / "history.db")
    store.open()
    counter = [0]
    payload, result = msgpack.packb({}), msgpack.packb(None)

    def run() -> int:
        start = counter[0]
        counter[0] += OPS
        ops = [insert(_record(n, payload, result)) for n in range(start, start + OPS)]
        store.write(ops, counter[0])
        return OPS

    return BenchCase("history.write", run)


def cases() -> list[BenchCase]:
    policy_cases = [_policy(name, n) for name in POLICIES for n in (10, 100, 1000)]
    return [
        *policy_cases,
        *(_cycle(n) for n in (10, 100, 1000)),
        _cycle(1000, limited=True),
        _cycle(100, blocked=10_000),
        _submit(),
        _complete(),
        _complete(events=True),
        _capture(),
        _history_write(),
    ]
