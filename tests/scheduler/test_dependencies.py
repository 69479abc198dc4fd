"""Jobs that depend on others, in the live table: blocked until every parent is final,
then released, skipped or failed; parents live, final (from the command) or unknown;
bounded release steps; the snapshot; ``ctx.parents``."""

from __future__ import annotations

import itertools
from random import Random

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler import snapshot_codec
from actors.scheduler.backoff import Backoff
from actors.scheduler.dependencies import (
    PARENT_RESULT_MAX_BYTES,
    PARENT_RESULTS_MAX_BYTES,
    RELEASE_STEP,
    Dependencies,
)
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from actors.scheduler.lifecycle import JobStatus
from actors.scheduler.state import JobStateMachine
from tests.scheduler.tables import report, run, status
from transport.cluster import Submitted
from transport.codec import PROTOCOL_VERSION, decode
from transport.commands import (
    CancelCmd,
    NewJob,
    RegisterWorkerCmd,
    RetryCmd,
    SubmitCmd,
    TickCmd,
)
from transport.job_options import JobOptions
from transport.parents import FinalParent, ParentsMissing

PAYLOAD = msgpack.packb({})


def new(
    job_id: str,
    *parents: str,
    rule: str = "fail",
    key: str | None = None,
    run_at: float | None = None,
    retries: int = 0,
) -> NewJob:
    options = JobOptions(depends_on=parents, on_parent_failure=rule) if parents else None
    return NewJob(job_id, "noop", PAYLOAD, 5, retries, None, run_at, key, options)


def machine(*, dead_letter: bool = True) -> JobStateMachine:
    sm = JobStateMachine(Backoff(base_s=1.0, jitter=0.0), dead_letter=dead_letter)
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 100_000, ("noop",)))
    return sm


def submit(sm: JobStateMachine, *jobs: NewJob, parents: tuple[FinalParent, ...] = ()) -> object:
    return sm.apply_command(SubmitCmd(1.0, jobs, parents))


def finish(sm: JobStateMachine, job_id: str, ok: bool = True, result: object = "r") -> None:
    """Run ``job_id`` once and report it (a failure with no retries left is final)."""
    job = sm.job(job_id)
    assert job is not None and job.status is JobStatus.PENDING, job and job.status
    attempt = job.attempts + 1
    run(sm, job_id, attempt, 2.0)
    report(sm, job_id, attempt, ok, 3.0, result=result)


def children_of(sm: JobStateMachine, job_id: str) -> list[str]:
    """Live children of ``job_id``, in submission order (the index keeps them by seq)."""
    kids = sm.deps.children.get(job_id, {})
    return [kids[seq] for seq in sorted(kids)]


def test_a_child_waits_blocked_and_becomes_pending_when_its_parent_succeeds() -> None:
    sm = machine()
    answer = submit(sm, new("p"), new("c", "p"))
    assert isinstance(answer, Submitted)
    assert [j.status for j in answer.jobs] == ["pending", "blocked"]
    assert [j.id for j in sm.due_jobs({"noop"}, 10)] == ["p"], "a blocked job is not due"
    assert children_of(sm, "p") == ["c"]
    finish(sm, "p")
    assert status(sm, "c") == "pending"
    assert [j.id for j in sm.due_jobs({"noop"}, 10)] == ["c"]


def test_a_child_waits_for_every_parent() -> None:
    sm = machine()
    submit(sm, new("a"), new("b"), new("c", "a", "b"))
    finish(sm, "a")
    assert status(sm, "c") == "blocked"
    finish(sm, "b")
    assert status(sm, "c") == "pending"


@pytest.mark.parametrize(
    ("rule", "expected"), [("fail", "dead"), ("skip", "cancelled"), ("run", "pending")]
)
def test_a_failed_parent_fails_skips_or_runs_the_child(rule: str, expected: str) -> None:
    sm = machine()
    submit(sm, new("a"), new("b"), new("c", "a", "b", rule=rule))
    finish(sm, "a", ok=False)
    assert status(sm, "c") == "blocked", "it waits until every parent is final"
    finish(sm, "b")
    assert status(sm, "c") == expected
    if expected != "pending":
        child = {job.id: job for _, job in sm.finished}["c"]
        assert child.last_reason == "parent_failed" and child.attempts == 0
        assert child.error == "parent a ended dead"


def test_a_parent_failure_without_dead_letters_leaves_the_child_failed() -> None:
    sm = machine(dead_letter=False)
    submit(sm, new("a"), new("c", "a"))
    finish(sm, "a", ok=False)
    assert status(sm, "c") == "failed"


def test_a_cancelled_parent_counts_as_failed_and_skips_cascade() -> None:
    sm = machine()
    submit(sm, new("a"), new("b", "a", rule="skip"), new("c", "b", rule="skip"))
    sm.apply_command(CancelCmd(2.0, "a"))
    assert status(sm, "b") == "cancelled" and status(sm, "c") == "cancelled"
    assert sm.counts()["cancelled"] == 3 and not sm.deps.children and not sm.deps.finals


def test_a_cancelled_blocked_child_leaves_the_index() -> None:
    sm = machine()
    submit(sm, new("p"), new("c", "p"))
    sm.apply_command(CancelCmd(2.0, "c"))
    assert status(sm, "c") == "cancelled" and children_of(sm, "p") == []
    finish(sm, "p")
    assert not sm.deps.finals and not sm.deps.candidates


def test_a_chain_in_one_submit_runs_in_order_whatever_the_order_of_the_batch() -> None:
    sm = machine()
    submit(sm, new("c", "b"), new("b", "a"), new("a"))
    assert [status(sm, j) for j in "abc"] == ["pending", "blocked", "blocked"]
    finish(sm, "a")
    assert [status(sm, j) for j in "bc"] == ["pending", "blocked"]
    finish(sm, "b")
    assert status(sm, "c") == "pending"


def test_a_parent_already_final_comes_with_the_command() -> None:
    sm = machine()
    ok = FinalParent("old", "succeeded", msgpack.packb({"n": 7}))
    answer = submit(sm, new("c", "old"), parents=(ok,))
    assert isinstance(answer, Submitted) and answer.jobs[0].status == "blocked"
    assert status(sm, "c") == "pending", "released at the end of the same command"
    assert msgpack.unpackb(sm.parent_results(sm.jobs["c"])) == {"old": {"n": 7}}
    failed = FinalParent("bad", "dead", None)
    submit(sm, new("d", "bad", rule="skip"), parents=(failed,))
    assert status(sm, "d") == "cancelled"


def test_a_parent_neither_live_nor_known_makes_nothing() -> None:
    sm = machine()
    before = sm.next_seq
    answer = submit(sm, new("x"), new("c", "gone"))
    assert answer == ParentsMissing(("gone",))
    assert sm.job("x") is None and sm.next_seq == before, "the whole submit made nothing"


def test_a_parent_that_finishes_between_proposal_and_apply_is_caught() -> None:
    """The leader saw ``p`` live and wrote nothing about it; it finished before the
    submit applied: the submit is refused, and once the leader writes what its history
    says, the child is decided from it."""
    sm = machine()
    submit(sm, new("p"))
    finish(sm, "p", ok=False)
    assert submit(sm, new("c", "p")) == ParentsMissing(("p",))
    submit(sm, new("c", "p", rule="skip"), parents=(FinalParent("p", "dead", None),))
    assert status(sm, "c") == "cancelled"


def test_a_final_parent_with_live_children_needs_no_record_in_the_command() -> None:
    sm = machine()
    submit(sm, new("p"), new("c1", "p"), new("slow"), new("c2", "p", "slow"))
    finish(sm, "p", ok=True, result={"out": 1})
    assert sm.deps.known_final("p"), "c2 still waits, so p's outcome is kept"
    answer = submit(sm, new("c3", "p"))
    assert isinstance(answer, Submitted) and status(sm, "c3") == "pending"


def test_a_final_parent_is_forgotten_with_its_last_live_child() -> None:
    sm = machine()
    submit(sm, new("p"), new("c", "p"))
    finish(sm, "p")
    assert sm.deps.known_final("p")
    finish(sm, "c")
    assert not sm.deps.finals and not sm.deps.children


def test_a_live_parent_wins_over_what_the_command_says() -> None:
    """The leader found ``p`` dead in its history, but it was retried before the submit
    applied: the child waits for the live ``p``."""
    sm = machine()
    submit(sm, new("p"))
    finish(sm, "p", ok=False)
    [(_, job)] = sm.take_finished()
    sm.apply_command(RetryCmd(4.0, "p", job.record(5)))
    submit(sm, new("c", "p"), parents=(FinalParent("p", "dead", None),))
    assert status(sm, "c") == "blocked"
    finish(sm, "p")
    assert status(sm, "c") == "pending"


def test_a_key_that_names_a_job_already_makes_no_parent_of_it() -> None:
    """A keyed job answered with the job its key names is not made; a sibling naming the
    id the leader gave it must not find a job: the submit makes nothing."""
    sm = machine()
    submit(sm, new("first", key="k"))
    answer = submit(sm, new("again", key="k"), new("c", "again"))
    assert answer == ParentsMissing(("again",))
    answer = submit(sm, new("again", key="k"), new("c", "first"))
    assert isinstance(answer, Submitted)
    assert [j.id for j in answer.jobs] == ["first", "c"]


def test_a_delayed_child_is_scheduled_once_released() -> None:
    sm = machine()
    submit(sm, new("p"), new("c", "p", run_at=50.0))
    finish(sm, "p")
    assert status(sm, "c") == "scheduled"
    sm.apply_command(TickCmd(51.0))
    assert status(sm, "c") == "pending"


def test_a_revived_child_runs_at_once() -> None:
    """A retry is a person's decision to run the job again: it is not blocked anew."""
    sm = machine()
    submit(sm, new("p"), new("c", "p"))
    finish(sm, "p", ok=False)
    left = {job.id: job for _, job in sm.take_finished()}
    sm.apply_command(RetryCmd(4.0, "c", left["c"].record(9)))
    assert status(sm, "c") == "pending" and children_of(sm, "p") == ["c"]


def test_ten_thousand_children_are_released_in_bounded_steps() -> None:
    sm = machine()
    n = 10_000
    submit(sm, new("p"), *(new(f"c{i}", "p") for i in range(n)))
    assert sm.counts()["blocked"] == n and sm.next_run_at() is None
    finish(sm, "p")
    assert sm.counts()["pending"] == RELEASE_STEP
    assert sm.next_run_at() == 0.0, "the leader ticks while candidates remain"
    ticks = 0
    while sm.deps.candidates:
        sm.apply_command(TickCmd(4.0))
        ticks += 1
    assert ticks == -(-n // RELEASE_STEP) - 1
    assert sm.counts()["pending"] == n and sm.counts()["blocked"] == 0
    assert sm.next_run_at() is None
    # released in submission order
    assert [j.id for j in sm.due_jobs({"noop"}, 3)] == ["c0", "c1", "c2"]


def test_parent_results_are_bounded() -> None:
    deps = Dependencies()
    deps.link("c", 1, ("small", "none", "big", "fill", "late"))
    deps.parent_left("small", "succeeded", msgpack.packb(1))
    deps.parent_left("none", "dead", b"")
    deps.parent_left("big", "succeeded", b"\xc4" + bytes(PARENT_RESULT_MAX_BYTES + 1))
    almost = PARENT_RESULTS_MAX_BYTES - 100
    deps.parent_left("fill", "succeeded", msgpack.packb(b"x" * (PARENT_RESULT_MAX_BYTES - 10)))
    deps.finals["fill"] = ("succeeded", msgpack.packb(b"x" * almost))
    deps.parent_left("late", "succeeded", msgpack.packb("y" * 200))
    got = msgpack.unpackb(deps.results(("small", "none", "big", "fill", "late")))
    assert set(got) == {"small", "none", "fill"}, "too large, or past the total: left out"
    assert got["small"] == 1 and got["none"] is None


def test_the_snapshot_carries_blocked_jobs_finals_and_candidates() -> None:
    sm = machine()
    n = RELEASE_STEP + 10
    submit(sm, new("p"), new("q"), new("waits", "p", "q"), *(new(f"c{i}", "p") for i in range(n)))
    finish(sm, "p", result={"x": 1})
    assert sm.deps.candidates, "some children are still to be looked at"
    data = b"".join(snapshot_codec.encode_pieces(sm, rows_per_piece=500))
    copy = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
    snapshot_codec.restore(copy, data)
    assert b"".join(snapshot_codec.encode_pieces(copy)) == data
    assert children_of(copy, "q") == ["waits"]
    assert children_of(copy, "p")[0] == "waits"
    for table in (sm, copy):
        table.apply_command(TickCmd(4.0))
        finish(table, "q")
        assert status(table, "waits") == "pending"
        assert msgpack.unpackb(table.parent_results(table.jobs["waits"]))["p"] == {"x": 1}
    assert b"".join(snapshot_codec.encode_pieces(copy)) == b"".join(
        snapshot_codec.encode_pieces(sm)
    )


def test_a_snapshot_from_before_dependencies_restores() -> None:
    sm = machine()
    submit(sm, new("a"))
    header_piece, *rows = snapshot_codec.encode_pieces(sm)
    form, header = msgpack.unpackb(header_piece, raw=False)
    del header["finals"], header["candidates"]
    copy = JobStateMachine()
    snapshot_codec.restore(copy, msgpack.packb([form, header], use_bin_type=True) + b"".join(rows))
    assert copy.job("a") is not None and not copy.deps.children


def test_a_plain_job_costs_the_index_nothing() -> None:
    sm = machine()
    submit(sm, new("a"), new("b"))
    finish(sm, "a")
    assert not sm.deps.children and not sm.deps.finals and not sm.deps.candidates
    assert sm.parent_results(sm.jobs["b"]) == b""


def test_the_leader_ticks_while_children_remain_and_sends_parents_results() -> None:
    sm = machine()
    leases = Leases(10.0)
    dispatch = Dispatcher(sm, leases, policy="round_robin", lease_s=10.0, max_batch=64)
    dispatch.take_over(1, 0.0, Random(0))
    leases.heard_from("w1", 0.0)
    submit(sm, new("p"), *(new(f"c{i}", "p") for i in range(RELEASE_STEP + 1)))
    finish(sm, "p", result={"rows": 3})
    plan = dispatch.plan(5.0)
    assert plan.tick is not None, "one child is still to be looked at"
    assert plan.assign is not None and len(plan.assign.assignments) == 64
    sm.apply_command(plan.tick)
    dispatch.ticked()
    sm.apply_command(plan.assign)
    sent = dispatch.assigned(plan.assign, committed=True, now=plan.assign.now)["w1"]
    assert msgpack.unpackb(sent[0].parents) == {"p": {"rows": 3}}
    assert sm.counts()["blocked"] == 0 and dispatch.plan(5.1).tick is None


def test_a_child_of_a_job_deduplicated_by_its_unique_key_waits_for_the_holder() -> None:
    """A batch's parent that a live job's unique key stands in for is not made; its
    children wait for that live job instead of naming an id no job has."""
    sm = machine()
    holder = NewJob("held", "noop", PAYLOAD, 5, 0, None, None, None, JobOptions(unique_key="u"))
    sm.apply_command(SubmitCmd(1.0, (holder,)))
    again = NewJob("again", "noop", PAYLOAD, 5, 0, None, None, None, JobOptions(unique_key="u"))
    out = sm.apply_command(SubmitCmd(2.0, (again, new("child", "again"))))
    assert isinstance(out, Submitted)
    assert [(s.id, s.duplicate) for s in out.jobs] == [("held", "unique"), ("child", "")]
    child = sm.job("child")
    assert child is not None and child.options is not None
    assert child.options.depends_on == ("held",)
    assert child.status is JobStatus.BLOCKED
    assert "again" not in sm.jobs


def held(job_id: str, *parents: str, unique_key: str = "u") -> NewJob:
    """A job asking for ``unique_key`` (and depending on ``parents``)."""
    options = JobOptions(depends_on=parents, unique_key=unique_key)
    return NewJob(job_id, "noop", PAYLOAD, 5, 0, None, None, None, options)


def drain(sm: JobStateMachine) -> None:
    """Run every job that becomes due until none does (each succeeds)."""
    while due := sm.due_jobs({"noop"}, 100):
        for job in due:
            finish(sm, job.id)


def test_a_child_listed_before_its_deduplicated_parent_waits_for_the_holder_too() -> None:
    """Refs point either way in a batch: a child listed before the job a live holder
    stands in for waits for the holder, as one listed after it does."""
    for batch in ((new("c", "again"), held("again")), (held("again"), new("c", "again"))):
        sm = machine()
        submit(sm, held("held"))
        answer = submit(sm, *batch)
        assert isinstance(answer, Submitted)
        assert {s.id: s.status for s in answer.jobs} == {"held": "pending", "c": "blocked"}
        child = sm.job("c")
        assert child is not None and child.options is not None
        assert child.options.depends_on == ("held",) and status(sm, "c") == "blocked"
        finish(sm, "held")
        assert status(sm, "c") == "pending"


BATCH = (
    held("again"),
    new("c1", "again"),
    new("c2", "again", "q"),
    new("q"),
    new("d", "c1"),
    held("twice", unique_key="v"),
    held("second", unique_key="v"),
    new("e", "second", "again"),
)


@given(st.permutations(BATCH))
@settings(max_examples=60, deadline=None)
def test_a_batch_with_stand_ins_decides_the_same_whatever_its_order(
    batch: list[NewJob],
) -> None:
    """Whatever the order, each child waits for the live job or the sibling that holds
    its parent's unique key, and the whole batch runs to the end."""
    sm = machine()
    submit(sm, held("held"))
    answer = submit(sm, *batch)
    assert isinstance(answer, Submitted)
    # which of two siblings with one unique key is made is the first listed
    v = next(j.id for j in batch if j.id in ("twice", "second"))
    waits = {j: sm.jobs[j].options.depends_on for j in ("c1", "c2", "d", "e")}  # type: ignore[union-attr]
    assert waits == {"c1": ("held",), "c2": ("held", "q"), "d": ("c1",), "e": (v, "held")}
    assert all(status(sm, j) == "blocked" for j in waits)
    finish(sm, "held")
    drain(sm)
    assert not sm.jobs and sm.counts()["succeeded"] == 7


@pytest.mark.parametrize(
    "batch",
    list(itertools.permutations((held("x", "y"), new("y", "again"), held("again")))),
    ids=lambda batch: "-".join(job.id for job in batch),
)
def test_a_holder_that_would_wait_on_itself_through_a_stand_in_does_not_hang(
    batch: tuple[NewJob, ...],
) -> None:
    """``x`` waits on ``y``, which names ``again``, which ``x`` would stand in for when
    made first: following that stand-in would be a cycle, so ``y`` keeps naming a job
    that was not made and fails (as before stand-ins were resolved); nothing waits for
    ever, in any order."""
    sm = machine()
    answer = submit(sm, *batch)
    assert isinstance(answer, Submitted)
    drain(sm)
    assert not sm.jobs, {j.id: j.status for j in sm.jobs.values()}
    if [j.id for j in batch].index("x") < [j.id for j in batch].index("again"):
        assert status(sm, "y") == "dead" and status(sm, "x") == "dead"
        left = {job.id: job for _, job in sm.finished}
        assert left["y"].error == "parent again ended unknown"


def test_a_job_whose_parent_it_stands_in_for_does_not_wait_on_itself() -> None:
    sm = machine()
    answer = submit(sm, held("x", "again"), held("again"))
    assert isinstance(answer, Submitted)
    assert [(s.id, s.duplicate) for s in answer.jobs] == [("x", ""), ("x", "unique")]
    assert status(sm, "x") == "dead"


def test_a_retried_child_gets_its_parents_results_again() -> None:
    """Its parent's outcome left memory with the child; the retry brings back what the
    leader's history says of it, for ``ctx.parents`` and for nothing longer than needed."""
    sm = machine()
    submit(sm, new("p"), new("c", "p"))
    finish(sm, "p", result=7)
    finish(sm, "c", ok=False)
    assert not sm.deps.finals, "forgotten with its last live child"
    left = {job.id: job for _, job in sm.take_finished()}
    parents = (FinalParent("p", "succeeded", msgpack.packb(7)),)
    sm.apply_command(RetryCmd(4.0, "c", left["c"].record(9), parents))
    assert status(sm, "c") == "pending"
    assert msgpack.unpackb(sm.parent_results(sm.jobs["c"])) == {"p": 7}
    finish(sm, "c")
    assert not sm.deps.finals and not sm.deps.children


def test_a_retry_logged_before_it_carried_parents_decodes_without_them() -> None:
    old = msgpack.packb([PROTOCOL_VERSION, "j.retry", [4.0, "c", None]], use_bin_type=True)
    assert decode(old) == RetryCmd(4.0, "c", None, ())
