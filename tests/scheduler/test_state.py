"""The live job table: each command, jobs leaving memory, retries from records, determinism."""

from __future__ import annotations

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler import snapshot_codec
from actors.scheduler.attempt_log import ERROR_BYTES, KEEP_ATTEMPTS, appended, entries
from actors.scheduler.backoff import Backoff
from actors.scheduler.records import Job
from actors.scheduler.state import KEY_WINDOW, JobStateMachine
from actors.scheduler.views import job_view, record_view, stats_view
from tests.scheduler.tables import report, run, status
from transport.cluster import JobChanged, RunningJob, Submitted
from transport.codec import encode
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    CancelCmd,
    DeleteCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    RetryCmd,
    SetRetentionCmd,
    SubmitCmd,
    TickCmd,
)
from transport.records import JobQuery, JobRecord

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
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 2, ("noop",)))
    return sm


def finished(sm: JobStateMachine) -> dict[str, JobRecord]:
    return {job.id: job.record(index) for index, job in sm.take_finished()}


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
    assert again.jobs[0].duplicate == "same" and sm.job("b") is None
    # the same key for another job: refused by the gateway with the first job's id
    other = sm.apply_command(SubmitCmd(3.0, (new("c", key="k", priority=1),)))
    assert isinstance(other, Submitted) and other.jobs[0].id == "a"
    assert other.jobs[0].duplicate == "conflict" and sm.job("c") is None


def test_a_finished_jobs_key_is_remembered_for_a_window_of_entries() -> None:
    sm = machine()
    sm.apply_decoded(1, SubmitCmd(1.0, (new("a", key="k"),)))
    sm.apply_decoded(2, AssignCmd(1.0, (AssignmentCmd("a", "w1", 1, 11.0),)))
    item = ReportItem("a", 1, True, b"\xc0", "", False, 0.0)
    sm.apply_decoded(3, ReportCmd(2.0, "w1", (item,)))
    assert sm.job("a") is None
    # the leader looked in its history before "a" finished: the live table still catches it
    again = sm.apply_decoded(4, SubmitCmd(3.0, (new("b", key="k"),)))
    assert isinstance(again, Submitted) and again.jobs[0].id == "a"
    assert again.jobs[0].status == "succeeded"
    sm.apply_decoded(3 + KEY_WINDOW, TickCmd(4.0))
    assert sm.known_key("k") is None, "the history answers for it from now on"


def test_a_final_job_leaves_memory_as_a_record() -> None:
    sm = machine()
    sm.apply_decoded(1, SubmitCmd(1.0, (new("a"),)))
    sm.apply_decoded(2, AssignCmd(1.0, (AssignmentCmd("a", "w1", 1, 11.0),)))
    assert status(sm, "a") == "running" and sm.due_jobs({"noop"}, 10) == []
    sm.apply_decoded(
        3, ReportCmd(2.0, "w1", (ReportItem("a", 1, True, msgpack.packb("r"), "", False, 0.0),))
    )
    assert sm.job("a") is None and not sm.jobs and not sm.by_seq
    records = finished(sm)
    assert records["a"].status == "succeeded" and records["a"].finished_index == 3
    assert record_view(records["a"])["result"] == "r"
    worker = sm.worker("w1")
    assert worker is not None and not worker.running
    assert sm.counts()["succeeded"] == 1, "final counts stay after the job leaves"


def test_failures_back_off_then_dead_letter_then_retry_from_the_record() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=1),)))
    run(sm, "a", 1)
    report(sm, "a", 1, False, now=2.0)
    assert status(sm, "a") == "scheduled"  # backoff 1 s
    sm.apply_command(TickCmd(3.5))
    assert status(sm, "a") == "pending"
    run(sm, "a", 2, now=4.0)
    report(sm, "a", 2, False, now=5.0)
    record = finished(sm)["a"]
    assert record.status == "dead" and record.error == "boom" and sm.job("a") is None
    assert sm.retries_by_reason == {"error": 1} and sm.counts()["dead"] == 1
    changed = sm.apply_command(RetryCmd(6.0, "a", record))
    assert isinstance(changed, JobChanged) and changed.status == "pending" and not changed.error
    assert sm.take_revived() == ["a"]
    job = sm.job("a")
    assert job is not None and job.seq == record.seq and job.attempts == 2
    assert job.max_retries == 3 and sm.counts()["dead"] == 0
    again = sm.apply_command(RetryCmd(6.5, "a", record))
    assert isinstance(again, JobChanged) and "pending" in again.error


def test_retry_without_a_record_is_not_found() -> None:
    sm = machine()
    changed = sm.apply_command(RetryCmd(1.0, "ghost", None))
    assert changed == JobChanged("ghost", "", "", True)


def test_a_report_from_an_old_attempt_is_ignored() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=3),)))
    run(sm, "a", 1)
    sm.apply_command(ExpireLeasesCmd(20.0, (RunningJob("a", 1),), (0.0,)))
    assert status(sm, "a") in ("pending", "scheduled") and sm.lease_timeouts == 1
    report(sm, "a", 1, True, now=21.0)
    assert sm.stale_reports == 1 and status(sm, "a") != "succeeded"


def test_cancel_pending_and_running_then_not_live() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("p"), new("r"))))
    run(sm, "r", 1)
    assert sm.apply_command(CancelCmd(2.0, "p")) == JobChanged("p", "cancelled", "", False)
    assert sm.apply_command(CancelCmd(2.0, "r")) == JobChanged("r", "cancelled", "", False)
    # final now, so no longer in memory: the master answers from the history
    assert sm.apply_command(CancelCmd(3.0, "r")) == JobChanged("r", "", "", True)
    report(sm, "r", 1, True)
    assert sm.stale_reports == 1 and {r.status for r in finished(sm).values()} == {"cancelled"}


def test_a_job_handed_back_unstarted_costs_no_attempt() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=0),)))
    run(sm, "a", 1)
    back = ReportItem("a", 1, False, b"", "", False, 0.0, started=False)
    sm.apply_command(ReportCmd(2.0, "w1", (back,)))
    job = sm.job("a")
    assert job is not None and job.status.value == "pending" and job.attempts == 0
    assert sm.worker("w1").running == set()  # type: ignore[union-attr]
    assert sm.retries_by_reason == {}, "not a failure"
    # its next run takes the number the returned one never used, and may still fail once
    run(sm, "a", 1, now=3.0)
    report(sm, "a", 1, False, now=4.0)
    assert finished(sm)["a"].status == "dead"


def test_a_goodbye_hands_back_what_it_names_and_fails_the_rest() -> None:
    """The jobs a leaving worker names as handed back cost no attempt (their report may
    have been lost); the others it held are failed attempts, retried if they may be."""
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=0), new("b", retries=1))))
    run(sm, "a", 1)
    run(sm, "b", 1)
    sm.apply_command(DeregisterWorkerCmd(2.0, "w1", (RunningJob("a", 1), RunningJob("b", 7))))
    job = sm.job("a")
    assert job is not None and job.status.value == "pending" and job.attempts == 0
    other = sm.job("b")
    assert other is not None and other.attempts == 1 and other.status.value == "scheduled"
    assert sm.retries_by_reason == {"worker_left": 1}, "only b's attempt was a failure"
    assert sm.worker("w1") is None


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


def test_only_final_jobs_may_be_deleted() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a"),)))
    refused = sm.apply_command(DeleteCmd(2.0, "a"))
    assert isinstance(refused, JobChanged) and "cancel it first" in refused.error
    assert sm.apply_command(DeleteCmd(2.0, "gone")) is None, "the shell removes the record"


def test_keeping_nothing_still_hands_the_leaving_job_over() -> None:
    """The shell takes it for its final event, and writes no record of it (the policy is
    the table's, so every master decides alike)."""
    sm = machine()
    sm.apply_command(SetRetentionCmd(0.5, 0.0, 10))
    sm.apply_command(SubmitCmd(1.0, (new("a"),)))
    run(sm, "a", 1)
    report(sm, "a", 1, True)
    assert sm.job("a") is None and list(finished(sm)) == ["a"]
    assert sm.retention.keep_finished_s == 0.0
    assert sm.counts()["succeeded"] == 1 and sm.entered["noop", "succeeded"] == 1


def test_creation_time_never_goes_back_along_seq() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(10.0, (new("a"),)))
    sm.apply_command(SubmitCmd(5.0, (new("b"),)))  # a new leader whose clock is behind
    a, b = sm.job("a"), sm.job("b")
    assert a is not None and b is not None and a.seq < b.seq and b.created_at == 10.0


def test_live_pages_walk_seq_order_both_ways() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, tuple(new(f"j{i}") for i in range(10))))
    run(sm, "j3", 1)
    newest = sm.live_page(JobQuery(limit=3))
    assert [j.id for j in newest] == ["j9", "j8", "j7"]
    after = sm.live_page(JobQuery(after_seq=8, limit=3))
    assert [j.id for j in after] == ["j6", "j5", "j4"]
    oldest = sm.live_page(JobQuery(status="pending", after_seq=2, ascending=True, limit=3))
    assert [j.id for j in oldest] == ["j2", "j4", "j5"]
    running = sm.live_page(JobQuery(status="running", limit=5))
    assert [j.id for j in running] == ["j3"]
    none = sm.live_page(JobQuery(status="succeeded", limit=5))
    assert none == []


commands = st.lists(
    st.tuples(
        st.sampled_from(
            ["submit", "assign", "ok", "fail", "cancel", "expire", "retry", "tick", "lost"]
        ),
        st.integers(0, 9),
    ),
    max_size=60,
)


def _snapshot(sm: JobStateMachine) -> bytes:
    return b"".join(snapshot_codec.encode_pieces(sm, rows_per_piece=3))


@settings(max_examples=60, deadline=None)
@given(commands)
def test_same_log_same_state_and_snapshots_restore(steps: list[tuple[str, int]]) -> None:
    log: list[bytes] = [encode(RegisterWorkerCmd(0.0, "w1", 3, ("noop",)))]
    shadow = machine()
    records: dict[str, JobRecord] = {}
    now = 1.0
    for action, n in steps:
        now += 1.0
        job_id = f"j{n}"
        job = shadow.job(job_id)
        attempt = job.attempts if job else 0
        if action == "submit":
            cmd: object = SubmitCmd(
                now, (new(job_id, retries=n % 3, run_at=now + n % 2, key=f"k{n % 4}"),)
            )
        elif action == "assign":
            cmd = AssignCmd(now, (AssignmentCmd(job_id, "w1", attempt + 1, now + 5),))
        elif action in ("ok", "fail"):
            cmd = ReportCmd(
                now, "w1", (ReportItem(job_id, attempt, action == "ok", b"\xc0", "e", False, 0.5),)
            )
        elif action == "cancel":
            cmd = CancelCmd(now, job_id)
        elif action == "expire":
            running = tuple(RunningJob(j, a) for _, j, a in shadow.running_jobs())
            cmd = ExpireLeasesCmd(now, running, (0.1,) * len(running))
        elif action == "retry":
            cmd = RetryCmd(now, job_id, None if job else records.get(job_id))
        elif action == "lost":
            cmd = ExpireWorkerCmd(now, "w1", (0.2,) * 3)
        else:
            cmd = TickCmd(now)
        data = encode(cmd)  # type: ignore[arg-type]
        shadow.apply(len(log) + 1, data)
        records.update(finished(shadow))
        shadow.take_revived()
        log.append(data)
        if action == "lost":
            log.append(encode(RegisterWorkerCmd(now, "w1", 3, ("noop",))))
            shadow.apply(len(log), log[-1])
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
    snapshot_codec.restore(c, _snapshot(b))
    assert _snapshot(c) == _snapshot(b)
    for index, data in enumerate(log[half:], half + 1):
        c.apply(index, data)
    assert _snapshot(a) == _snapshot(c)
    assert a.counts() == c.counts()
    assert stats_view(a) == stats_view(c)
    live: dict[str, dict[str, int]] = {}
    for job in a.jobs.values():
        per = live.setdefault(job.type, {})
        per[job.status.value] = per.get(job.status.value, 0) + 1
    for job_type, by_status in a.counts_by_type().items():
        for state in ("pending", "scheduled", "running"):
            assert by_status.get(state, 0) == live.get(job_type, {}).get(state, 0)
    assert [j.id for j in a.due_jobs({"noop"}, 100)] == [j.id for j in c.due_jobs({"noop"}, 100)]
    assert [job_view(j, a) for j in a.jobs.values()] == [job_view(c.jobs[i], c) for i in a.jobs]


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


def test_memory_follows_live_work_not_jobs_ever_run() -> None:
    """100,000 jobs through the table leave nothing behind but counters."""
    sm = machine()
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 1_000_000, ("noop",)))
    for batch in range(100):
        ids = [f"{batch}-{i}" for i in range(1000)]
        sm.apply_command(SubmitCmd(1.0, tuple(new(i) for i in ids)))
        sm.apply_command(AssignCmd(1.0, tuple(AssignmentCmd(i, "w1", 1, 9.0) for i in ids)))
        items = tuple(ReportItem(i, 1, True, b"\xc0", "", False, 0.0) for i in ids)
        sm.apply_command(ReportCmd(2.0, "w1", items))
        sm.take_finished()
    assert not sm.jobs and not sm.by_seq and not sm.by_key and len(sm.queue) == 0
    assert len(sm.seq_index) <= 2 * 1024 + 1000
    assert sm.counts()["succeeded"] == 100_000
    assert len(_snapshot(sm)) < 2_000


def test_a_job_is_a_record_and_back() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", key="k", run_at=9.0),)))
    job = sm.job("a")
    assert job is not None
    again = Job.revive(job.record(7))
    assert again.record(7) == job.record(7)


def test_types_no_live_worker_takes_are_unserved() -> None:
    sm = machine()
    sm.apply_command(
        SubmitCmd(1.0, (new("a"), NewJob("b", "resize", PAYLOAD, 5, 1, None, None, None)))
    )
    assert sm.serves("noop") and not sm.serves("resize")
    assert sm.unserved_types() == ["resize"]
    sm.apply_command(RegisterWorkerCmd(2.0, "w2", 1, ("resize",)))
    assert sm.unserved_types() == []
    sm.apply_command(ExpireWorkerCmd(30.0, "w2", ()))
    assert sm.unserved_types() == ["resize"], "a lost worker serves nothing"


def test_every_failed_attempt_is_logged_with_its_own_error() -> None:
    sm = machine()
    sm.apply_command(SubmitCmd(1.0, (new("a", retries=2),)))
    run(sm, "a", 1)
    report(sm, "a", 1, False, now=2.0)  # "boom"
    sm.apply_command(TickCmd(3.5))
    run(sm, "a", 2, now=4.0)
    sm.apply_command(ExpireLeasesCmd(20.0, (RunningJob("a", 2),), (0.0,)))
    sm.apply_command(TickCmd(30.0))
    run(sm, "a", 3, now=31.0)
    timed_out = ReportItem("a", 3, False, b"", "timed out after 1s", True, 0.0)
    sm.apply_command(ReportCmd(32.0, "w1", (timed_out,)))
    record = finished(sm)["a"]
    assert record.status == "dead"
    assert entries(record.attempts_log) == [
        {"attempt": 1, "worker": "w1", "reason": "error", "error": "boom", "at": 2.0},
        # a lost lease has no error of its own: the previous attempt's is not repeated
        {"attempt": 2, "worker": "w1", "reason": "lease_expired", "error": None, "at": 20.0},
        {
            "attempt": 3,
            "worker": "w1",
            "reason": "timeout",
            "error": "timed out after 1s",
            "at": 32.0,
        },
    ]
    assert record_view(record)["attempts_log"] == entries(record.attempts_log)
    # the log travels with the record: a retried job keeps it, and a snapshot carries it
    sm.apply_command(RetryCmd(40.0, "a", record))
    job = sm.job("a")
    assert job is not None and job.attempts_log == record.attempts_log
    copy = JobStateMachine()
    list(snapshot_codec.restore_steps(copy, b"".join(snapshot_codec.encode_pieces(sm))))
    assert copy.job("a").attempts_log == record.attempts_log  # type: ignore[union-attr]


def test_the_attempt_log_is_bounded() -> None:
    log = b""
    for attempt in range(1, 31):
        log = appended(log, attempt, "w1", "error", "x" * 100_000, float(attempt))
    kept = entries(log)
    assert [e["attempt"] for e in kept] == list(range(21, 31))
    assert all(len(str(e["error"])) <= ERROR_BYTES for e in kept)
    assert len(log) < (KEEP_ATTEMPTS + 1) * ERROR_BYTES
