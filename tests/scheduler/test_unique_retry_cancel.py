"""Unique keys, per-job retry policies and bulk cancels in the live table."""

from __future__ import annotations

import msgpack

from actors.scheduler.backoff import Backoff
from actors.scheduler.ready_queue import ReadyQueue
from actors.scheduler.retry_policy import backoff_for, exit_code_is_final
from actors.scheduler.state import DEDUPLICATED, JobStateMachine
from tests.scheduler.tables import report, run
from transport.cluster import JobChanged, Submitted
from transport.cluster import JobStatus as StatusOf
from transport.commands import (
    CancelCmd,
    NewJob,
    RegisterWorkerCmd,
    RetryCmd,
    SubmitCmd,
)
from transport.job_options import JobOptions, RetryPolicy
from transport.limit_commands import CancelledMany, CancelledRun, CancelManyCmd

PAYLOAD = msgpack.packb({})


def new(
    job_id: str,
    *,
    job_type: str = "noop",
    retries: int = 3,
    run_at: float | None = None,
    key: str | None = None,
    options: JobOptions | None = None,
) -> NewJob:
    return NewJob(job_id, job_type, PAYLOAD, 5, retries, None, run_at, key, options)


def machine() -> JobStateMachine:
    sm = JobStateMachine(Backoff(base_s=1.0, multiplier=2.0, cap_s=300.0, jitter=0.0))
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 8, ("noop", "mail", "shell")))
    return sm


def submit(sm: JobStateMachine, *jobs: NewJob, now: float = 1.0) -> Submitted:
    answer = sm.apply_command(SubmitCmd(now, jobs))
    assert isinstance(answer, Submitted)
    return answer


def fail(
    sm: JobStateMachine,
    job_id: str,
    attempt: int = 1,
    *,
    now: float = 2.0,
    result: object = None,
    permanent: bool = False,
) -> None:
    report(sm, job_id, attempt, False, now, result=result, permanent=permanent)


def unique(key: str) -> JobOptions:
    return JobOptions(unique_key=key)


# -- unique keys ---------------------------------------------------------------------------


def test_a_second_submit_with_a_held_unique_key_returns_the_live_job() -> None:
    sm = machine()
    submit(sm, new("a", options=unique("report-7")))
    answer = submit(sm, new("b", options=unique("report-7")))
    assert answer.jobs == (StatusOf("a", "pending", DEDUPLICATED),)
    assert "b" not in sm.jobs
    run(sm, "a")
    again = submit(sm, new("c", options=unique("report-7")))
    assert again.jobs == (StatusOf("a", "running", DEDUPLICATED),), "running still holds it"


def test_two_jobs_of_one_batch_with_one_unique_key_make_one_job() -> None:
    sm = machine()
    answer = submit(sm, new("a", options=unique("k")), new("b", options=unique("k")))
    assert answer.jobs == (StatusOf("a", "pending"), StatusOf("a", "pending", DEDUPLICATED))


def test_a_scheduled_job_holds_its_unique_key_too() -> None:
    sm = machine()
    submit(sm, new("a", run_at=50.0, options=unique("k")))
    assert submit(sm, new("b", options=unique("k"))).jobs[0] == StatusOf(
        "a", "scheduled", DEDUPLICATED
    )


def test_the_key_is_free_again_once_its_job_is_final() -> None:
    sm = machine()
    submit(sm, new("a", options=unique("k")))
    sm.apply_command(CancelCmd(2.0, "a"))
    answer = submit(sm, new("b", options=unique("k")), now=3.0)
    assert answer.jobs == (StatusOf("b", "pending"),)
    assert sm.by_unique == {"k": "b"}


def test_an_idempotency_key_answers_before_a_unique_key() -> None:
    sm = machine()
    first = new("a", key="req-1", options=unique("k"))
    submit(sm, first)
    assert submit(sm, first).jobs == (StatusOf("a", "pending", "same"),)


def test_a_retry_is_refused_while_another_job_holds_the_unique_key() -> None:
    sm = machine()
    submit(sm, new("a", retries=0, options=unique("k")))
    run(sm, "a")
    fail(sm, "a")
    ((_, dead),) = sm.take_finished()
    submit(sm, new("b", options=unique("k")), now=3.0)
    answer = sm.apply_command(RetryCmd(4.0, "a", dead.record(0)))
    assert isinstance(answer, JobChanged) and "held by live job b" in answer.error
    assert "a" not in sm.jobs


# -- retry policies ---------------------------------------------------------------------------


def test_a_job_s_own_backoff_replaces_the_cluster_values_it_names() -> None:
    cluster = Backoff(base_s=1.0, multiplier=2.0, cap_s=300.0, jitter=0.5)
    own = JobOptions(retry=RetryPolicy(base_s=10.0, jitter=0.0))
    assert backoff_for(cluster, own) == Backoff(10.0, 2.0, 300.0, 0.0)
    assert backoff_for(cluster, None) is cluster
    assert backoff_for(cluster, JobOptions(unique_key="k")) is cluster


def test_a_failed_job_waits_its_own_backoff() -> None:
    sm = machine()
    policy = RetryPolicy(base_s=5.0, multiplier=3.0, cap_s=30.0)
    submit(sm, new("a", options=JobOptions(retry=policy)), new("b"))
    for job_id in ("a", "b"):
        run(sm, job_id)
        fail(sm, job_id, now=2.0)
    assert sm.jobs["a"].run_at == 7.0 and sm.jobs["b"].run_at == 3.0
    run(sm, "a", 2, now=7.0)
    fail(sm, "a", 2, now=8.0)
    assert sm.jobs["a"].run_at == 8.0 + 15.0


def test_a_permanent_failure_ends_the_job_at_once() -> None:
    sm = machine()
    submit(sm, new("a", retries=5))
    run(sm, "a")
    fail(sm, "a", permanent=True)
    ((_, job),) = sm.take_finished()
    assert job.status.value == "dead" and job.attempts == 1
    assert job.last_reason == "permanent" and sm.retries_by_reason == {}
    assert b"permanent" in job.attempts_log and b"boom" in job.attempts_log


def test_a_listed_exit_code_ends_the_job_and_another_is_retried() -> None:
    sm = machine()
    policy = JobOptions(retry=RetryPolicy(no_retry_exit_codes=(2, 64)))
    submit(
        sm, new("a", job_type="shell", options=policy), new("b", job_type="shell", options=policy)
    )
    run(sm, "a")
    run(sm, "b")
    fail(sm, "a", result={"exit_code": 64, "stdout": "", "stderr": "usage"})
    fail(sm, "b", result={"exit_code": 1, "stdout": "", "stderr": ""})
    assert [(job.id, job.last_reason) for _, job in sm.take_finished()] == [("a", "permanent")]
    assert sm.jobs["b"].status.value == "scheduled" and sm.jobs["b"].last_reason == "error"


def test_an_exit_code_is_judged_only_from_a_result_that_has_one() -> None:
    codes = JobOptions(retry=RetryPolicy(no_retry_exit_codes=(1,)))
    assert exit_code_is_final(codes, msgpack.packb({"exit_code": 1}))
    assert not exit_code_is_final(codes, msgpack.packb({"exit_code": True}))
    assert not exit_code_is_final(codes, msgpack.packb([1]))
    assert not exit_code_is_final(codes, b"\xc1 not msgpack")
    assert not exit_code_is_final(codes, None)
    assert not exit_code_is_final(None, msgpack.packb({"exit_code": 1}))


# -- bulk cancel --------------------------------------------------------------------------


def cancel_many(
    sm: JobStateMachine,
    ids: tuple[str, ...] = (),
    job_type: str | None = None,
    statuses: tuple[str, ...] = (),
    schedule: str | None = None,
) -> CancelledMany:
    answer = sm.apply_command(CancelManyCmd(5.0, ids, job_type, statuses, schedule))
    assert isinstance(answer, CancelledMany)
    return answer


def test_a_bulk_cancel_by_filters_takes_every_live_match_in_submission_order() -> None:
    sm = machine()
    submit(sm, new("m1", job_type="mail"), new("n1"), new("m2", job_type="mail"))
    submit(sm, new("m3", job_type="mail", run_at=100.0))
    run(sm, "m2")
    answer = cancel_many(sm, job_type="mail", statuses=("pending", "running"))
    assert answer == CancelledMany(2, (CancelledRun("w1", "m2", 1),))
    assert [job.id for _, job in sm.take_finished()] == ["m1", "m2"]
    assert sm.jobs["m3"].status.value == "scheduled" and "n1" in sm.jobs
    assert cancel_many(sm, job_type="mail", statuses=("pending", "running")).count == 0


def test_a_bulk_cancel_by_ids_skips_what_is_not_live() -> None:
    sm = machine()
    submit(sm, new("a"), new("b"))
    sm.apply_command(CancelCmd(2.0, "b"))
    assert cancel_many(sm, ids=("b", "a", "nope", "a")).count == 1
    assert not sm.jobs


def test_a_bulk_cancel_by_schedule_takes_that_schedule_s_jobs() -> None:
    sm = machine()
    fired = JobOptions(schedule="nightly", scheduled_for=0.0)
    other = JobOptions(schedule="hourly", scheduled_for=0.0)
    submit(sm, new("a", options=fired), new("b", options=other), new("c"))
    assert cancel_many(sm, schedule="nightly").count == 1
    assert sorted(sm.jobs) == ["b", "c"]


def test_a_bulk_cancel_frees_the_unique_keys_it_takes() -> None:
    sm = machine()
    submit(sm, new("a", options=unique("k")))
    cancel_many(sm, statuses=("pending",))
    assert submit(sm, new("b", options=unique("k")), now=6.0).jobs == (StatusOf("b", "pending"),)


# -- the ready queue's caps ------------------------------------------------------------------


def test_peek_due_stops_a_capped_type_at_its_cap_and_keeps_order() -> None:
    queue = ReadyQueue()
    for n in range(50):
        queue.push(f"a{n}", "a", n % 10, float(n), n)
        queue.push(f"b{n}", "b", n % 10, float(n), 100 + n)
    uncapped = queue.peek_due({"a", "b"}, 20)
    capped = queue.peek_due({"a", "b"}, 20, caps={"a": 3})
    assert [j for j in capped if j.startswith("a")] == [j for j in uncapped if j.startswith("a")][
        :3
    ]
    assert [j for j in capped if j.startswith("b")] == [
        j for j in queue.peek_due({"b"}, 17) if j.startswith("b")
    ]
    assert queue.peek_due({"a"}, 20, caps={"a": 0}) == []
