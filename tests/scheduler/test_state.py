"""The job state machine: each command, stale reports, determinism through snapshots."""

from __future__ import annotations

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.backoff import Backoff
from actors.scheduler.state import JobStateMachine
from transport.cluster import JobChanged, RunningJob, Submitted
from transport.codec import encode
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    CancelCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    NewJob,
    RegisterWorkerCmd,
    RenewCmd,
    ReportCmd,
    ReportItem,
    RetryCmd,
    SubmitCmd,
    TickCmd,
)

PAYLOAD = msgpack.packb({"x": 1})


def new(
    job_id: str,
    *,
    priority: int = 5,
    retries: int = 1,
    run_at: float | None = None,
    key: str | None = None,
) -> NewJob:
    return NewJob(job_id, "noop", PAYLOAD, priority, retries, None, run_at, key)


def machine() -> JobStateMachine:
    sm = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 2, ("noop",), 100.0))
    return sm


def run(sm: JobStateMachine, job_id: str, attempt: int, now: float = 1.0) -> None:
    sm.apply_command(AssignCmd(now, (AssignmentCmd(job_id, "w1", attempt, now + 10),)))


def report(sm: JobStateMachine, job_id: str, attempt: int, ok: bool, now: float = 2.0) -> None:
    item = ReportItem(job_id, attempt, ok, msgpack.packb("r"), "" if ok else "boom", False, 0.0)
    sm.apply_command(ReportCmd(now, "w1", (item,)))


def status(sm: JobStateMachine, job_id: str) -> str:
    job = sm.job(job_id)
    assert job is not None
    return job.status.value


def test_submit_orders_by_priority_then_time() -> None:
    sm = machine()
    answer = sm.apply_command(
        SubmitCmd(1.0, (new("low", priority=1), new("high", priority=9), new("mid")))
    )
    assert isinstance(answer, Submitted) and [j.status for j in answer.jobs] == ["pending"] * 3
    assert [j.id for j in sm.due_jobs({"noop"}, 10)] == ["high", "mid", "low"]


def test_idempotency_key_returns_the_first_job() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", key="k"),)))
    again = sm.apply_command(SubmitCmd(2.0, (new("b", key="k"),)))
    assert isinstance(again, Submitted) and again.jobs[0].id == "a"
    assert sm.job("b") is None


def test_success_path() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a"),)))
    run(sm, "a", 1)
    assert status(sm, "a") == "running" and sm.due_jobs({"noop"}, 10) == []
    report(sm, "a", 1, True)
    assert status(sm, "a") == "succeeded"
    assert sm.view(sm.job("a"))["result"] == "r"  # type: ignore[arg-type]
    worker = sm.worker("w1")
    assert worker is not None and not worker.running


def test_failures_back_off_then_dead_letter_then_retry() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=1),)))
    run(sm, "a", 1)
    report(sm, "a", 1, False, now=2.0)
    assert status(sm, "a") == "scheduled"  # backoff 1 s
    sm.apply_command(TickCmd(3.5))
    assert status(sm, "a") == "pending"
    run(sm, "a", 2, now=4.0)
    report(sm, "a", 2, False, now=5.0)
    assert status(sm, "a") == "dead" and sm.job("a").error == "boom"  # type: ignore[union-attr]
    assert sm.retries_by_reason == {"error": 1}
    changed = sm.apply_command(RetryCmd(6.0, "a"))
    assert isinstance(changed, JobChanged) and changed.status == "pending" and not changed.error


def test_a_report_from_an_old_attempt_is_ignored() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=3),)))
    run(sm, "a", 1)
    sm.apply_command(ExpireLeasesCmd(20.0, (RunningJob("a", 1),), (0.0,)))
    assert status(sm, "a") in ("pending", "scheduled") and sm.lease_timeouts == 1
    report(sm, "a", 1, True, now=21.0)
    assert sm.stale_reports == 1 and status(sm, "a") != "succeeded"


def test_renewal_keeps_a_lease_alive() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a"),)))
    run(sm, "a", 1)  # lease until 11
    sm.apply_command(RenewCmd(9.0, "w1", (RunningJob("a", 1),), 30.0))
    assert sm.expired_leases(20.0) == []
    assert sm.expired_leases(31.0) == [RunningJob("a", 1)]


def test_cancel_pending_running_and_finished() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("p"), new("r"))))
    run(sm, "r", 1)
    assert sm.apply_command(CancelCmd(2.0, "p")) == JobChanged("p", "cancelled", "", False)
    assert sm.apply_command(CancelCmd(2.0, "r")) == JobChanged("r", "cancelled", "", False)
    again = sm.apply_command(CancelCmd(3.0, "r"))
    assert isinstance(again, JobChanged) and again.error
    assert sm.apply_command(CancelCmd(3.0, "nope")) == JobChanged("nope", "", "", True)
    report(sm, "r", 1, True)
    assert status(sm, "r") == "cancelled"


def test_a_lost_worker_gives_its_jobs_back() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a"),)))
    run(sm, "a", 1)
    sm.apply_command(ExpireWorkerCmd(200.0, "w1", (0.0,)))
    assert sm.worker("w1").state.value == "lost"  # type: ignore[union-attr]
    assert status(sm, "a") in ("pending", "scheduled")


def test_delayed_job_waits_for_its_time() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("later", run_at=50.0),)))
    assert status(sm, "later") == "scheduled" and sm.due_jobs({"noop"}, 5) == []
    sm.apply_command(TickCmd(50.0))
    assert [j.id for j in sm.due_jobs({"noop"}, 5)] == ["later"]


commands = st.lists(
    st.tuples(
        st.sampled_from(["submit", "assign", "ok", "fail", "cancel", "expire", "retry", "tick"]),
        st.integers(0, 9),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(commands)
def test_same_log_same_state_and_snapshots_restore(steps: list[tuple[str, int]]) -> None:
    log: list[bytes] = [encode(RegisterWorkerCmd(0.0, "w1", 3, ("noop",), 1e9))]
    shadow = machine()
    now = 1.0
    for action, n in steps:
        now += 1.0
        job_id = f"j{n}"
        job = shadow.job(job_id)
        attempt = job.attempts if job else 0
        if action == "submit":
            cmd: object = SubmitCmd(now, (new(job_id, retries=n % 3, run_at=now + n % 2),))
        elif action == "assign":
            cmd = AssignCmd(now, (AssignmentCmd(job_id, "w1", attempt + 1, now + 5),))
        elif action in ("ok", "fail"):
            cmd = ReportCmd(
                now, "w1", (ReportItem(job_id, attempt, action == "ok", b"\xc0", "e", False, 0.5),)
            )
        elif action == "cancel":
            cmd = CancelCmd(now, job_id)
        elif action == "expire":
            cmd = ExpireLeasesCmd(now, tuple(shadow.expired_leases(now)), (0.1,) * 10)
        elif action == "retry":
            cmd = RetryCmd(now, job_id)
        else:
            cmd = TickCmd(now)
        data = encode(cmd)  # type: ignore[arg-type]
        shadow.apply(len(log) + 1, data)
        log.append(data)
    a, b = (
        JobStateMachine(Backoff(base_s=1.0, jitter=0.0)),
        JobStateMachine(Backoff(base_s=1.0, jitter=0.0)),
    )
    half = len(log) // 2
    for index, data in enumerate(log, 1):
        a.apply(index, data)
    for index, data in enumerate(log[:half], 1):
        b.apply(index, data)
    c = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
    c.restore(b.snapshot())
    for index, data in enumerate(log[half:], half + 1):
        c.apply(index, data)
    assert a.snapshot() == c.snapshot()
    assert a.counts() == c.counts()
    assert a.stats_view() == c.stats_view()
    scanned: dict[str, dict[str, int]] = {}
    for job in a.order:
        per = scanned.setdefault(job.type, {})
        per[job.status.value] = per.get(job.status.value, 0) + 1
    assert a.counts_by_type() == scanned
    assert [j.id for j in a.due_jobs({"noop"}, 100)] == [j.id for j in c.due_jobs({"noop"}, 100)]


def test_pending_jobs_memory_is_well_under_the_budget() -> None:
    import tracemalloc

    sm = machine()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    jobs = tuple(new(f"{i:036d}") for i in range(50_000))
    sm.apply_command(SubmitCmd(1.0, jobs))
    del jobs
    per_job = (tracemalloc.get_traced_memory()[0] - before) / 50_000
    tracemalloc.stop()
    assert per_job * 1_000_000 < 1.5 * 2**30, f"{per_job:.0f} bytes per pending job"
