"""The leader's dispatch core: credits, assignments in flight, pipelined reports, ticks."""

from __future__ import annotations

from random import Random

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.backoff import Backoff
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from actors.scheduler.policies import WorkerPool
from actors.scheduler.state import JobStateMachine
from transport.commands import (
    AssignCmd,
    DeregisterWorkerCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    SubmitCmd,
)

LEASE_S = 10.0


def setup(
    capacity: int = 2, jobs: int = 5, workers: tuple[str, ...] = ("w1",), prefetch: int = 0
) -> tuple[JobStateMachine, Dispatcher]:
    sm = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
    for worker in workers:
        sm.apply_command(RegisterWorkerCmd(0.0, worker, capacity, ("noop",), prefetch))
    new = tuple(NewJob(f"j{n}", "noop", b"\xc0", 5, 0, None, None, None) for n in range(jobs))
    sm.apply_command(SubmitCmd(0.0, new))
    leases = Leases(LEASE_S)
    dispatch = Dispatcher(sm, leases, policy="round_robin", lease_s=LEASE_S, max_batch=64)
    dispatch.take_over(1, 0.0, Random(0))
    for worker in workers:
        leases.heard_from(worker, 0.0)
    return sm, dispatch


def done(job_id: str, attempt: int = 1) -> ReportItem:
    return ReportItem(job_id, attempt, True, msgpack.packb(None), "", False, 0.0)


def test_a_worker_is_offered_no_more_jobs_than_its_free_slots() -> None:
    sm, dispatch = setup(capacity=2)
    plan = dispatch.plan(1.0)
    assert plan.assign is not None and plan.tick is None
    assert [a.job_id for a in plan.assign.assignments] == ["j0", "j1"]
    assert all(a.attempt == 1 and a.lease_until == 1.0 + LEASE_S for a in plan.assign.assignments)
    # proposed, not applied: the slots are reserved, so nothing more is planned
    assert dispatch.plan(1.1).assign is None
    sm.apply_command(plan.assign)
    sent = dispatch.assigned(plan.assign, committed=True, now=plan.assign.now)
    assert [a.job_id for a in sent["w1"]] == ["j0", "j1"]
    assert dispatch.plan(1.2).assign is None, "both slots run now"


def test_a_worker_with_prefetch_is_offered_its_queue_too() -> None:
    sm, dispatch = setup(capacity=2, jobs=6, prefetch=3)
    plan = dispatch.plan(1.0).assign
    assert plan is not None and len(plan.assignments) == 5
    sm.apply_command(plan)
    dispatch.assigned(plan, committed=True, now=plan.now)
    worker = sm.worker("w1")
    assert worker is not None and len(worker.running) == 5
    assert dispatch.plan(1.1).assign is None, "slots and queue are full"
    # registered again without a queue: nothing more until it is below its two slots
    sm.apply_command(RegisterWorkerCmd(1.2, "w1", 2, ("noop",)))
    assert dispatch.plan(1.3).assign is None


def test_a_draining_worker_gets_nothing_new() -> None:
    _, dispatch = setup(capacity=2, workers=("w1", "w2"))
    dispatch.leases.heard_from("w1", 0.5, draining=True)
    plan = dispatch.plan(1.0).assign
    assert plan is not None and {a.worker for a in plan.assignments} == {"w2"}
    # a leader taking over learns it again from the next heartbeat or hello
    dispatch.take_over(2, 2.0, Random(0))
    assert not dispatch.leases.is_draining("w1")


def test_a_lost_assignment_frees_its_credits_and_sends_nothing() -> None:
    _, dispatch = setup(capacity=2)
    plan = dispatch.plan(1.0)
    assert plan.assign is not None
    assert dispatch.assigned(plan.assign, committed=False, now=plan.assign.now) == {}
    again = dispatch.plan(1.1).assign
    assert again is not None and [a.job_id for a in again.assignments] == ["j0", "j1"]


def test_a_reported_slot_is_refilled_before_the_report_is_applied() -> None:
    sm, dispatch = setup(capacity=2)
    first = dispatch.plan(1.0).assign
    assert first is not None
    sm.apply_command(first)
    dispatch.assigned(first, committed=True, now=first.now)
    counted = dispatch.reported("w1", ["j0"])
    assert counted == ["j0"]
    assert dispatch.reported("w1", ["j0"]) == [], "a report sent twice frees one slot"
    nxt = dispatch.plan(2.0).assign
    assert nxt is not None and [a.job_id for a in nxt.assignments] == ["j2"]
    # the report, then the assignment behind it in the log
    sm.apply_command(ReportCmd(2.0, "w1", (done("j0"),)))
    dispatch.report_applied("w1", counted)
    sm.apply_command(nxt)
    dispatch.assigned(nxt, committed=True, now=nxt.now)
    assert dispatch.freeing == {} and dispatch.reserved == {}
    assert dispatch.plan(2.1).assign is None
    worker = sm.worker("w1")
    assert worker is not None and worker.running == {"j1", "j2"}


def test_a_slot_freed_twice_is_not_offered_twice() -> None:
    """A job reported finished and also expired in between frees one slot, not two."""
    sm, dispatch = setup(capacity=1)
    first = dispatch.plan(1.0).assign
    assert first is not None
    sm.apply_command(first)
    dispatch.assigned(first, committed=True, now=first.now)
    dispatch.reported("w1", ["j0"])
    sm.apply_command(ReportCmd(1.5, "w1", (done("j0"),)))  # applied, callback not yet run
    nxt = dispatch.plan(2.0).assign
    assert nxt is not None and len(nxt.assignments) == 1


def test_only_workers_this_leader_heard_from_get_work() -> None:
    _, dispatch = setup(workers=("w1", "w2"))
    dispatch.take_over(2, 100.0, Random(0))
    assert dispatch.plan(100.5).assign is None
    dispatch.leases.heard_from("w2", 100.6)
    plan = dispatch.plan(100.7).assign
    assert plan is not None and {a.worker for a in plan.assignments} == {"w2"}


def test_a_delayed_job_gets_one_tick_at_a_time() -> None:
    sm, dispatch = setup(jobs=0)
    sm.apply_command(SubmitCmd(0.0, (NewJob("later", "noop", b"\xc0", 5, 0, None, 5.0, None),)))
    assert dispatch.plan(4.0).tick is None
    tick = dispatch.plan(5.0).tick
    assert tick is not None and tick.now == 5.0
    assert dispatch.plan(5.1).tick is None, "one tick on its way is enough"
    sm.apply_command(tick)
    dispatch.ticked()
    assign = dispatch.plan(5.2).assign
    assert assign is not None and [a.job_id for a in assign.assignments] == ["later"]


def test_stepping_down_forgets_everything_in_flight() -> None:
    _, dispatch = setup()
    dispatch.plan(1.0)
    dispatch.reported("w1", ["j0"])
    dispatch.step_down()
    assert not dispatch.leading and dispatch.plan(1.1).assign is None
    assert not dispatch.assigning and not dispatch.reserved and not dispatch.freeing


# -- the pool follows what changed -----------------------------------------------------


def sync_counter(dispatch: Dispatcher) -> list[str]:
    """The workers each later plan looks at, in order (the pool's cost per plan)."""
    looked: list[str] = []
    sync = dispatch._sync_worker

    def counted(pool: WorkerPool, worker_id: str, now: float) -> None:
        looked.append(worker_id)
        sync(pool, worker_id, now)

    dispatch._sync_worker = counted  # type: ignore[method-assign]
    return looked


def three_jobs() -> tuple[NewJob, ...]:
    return tuple(NewJob(f"j{n}", "noop", b"\xc0", 5, 0, None, None, None) for n in range(3))


def test_a_plan_looks_only_at_workers_something_happened_to() -> None:
    sm, dispatch = setup(capacity=1, jobs=0, workers=tuple(f"w{n}" for n in range(100)))
    looked = sync_counter(dispatch)
    assert dispatch.plan(1.0).assign is None
    assert len(looked) == 100, "the first plan of a term looks at every worker"
    looked.clear()
    assert dispatch.plan(1.1).assign is None and looked == []
    sm.apply_command(SubmitCmd(1.2, (NewJob("j", "noop", b"\xc0", 5, 0, None, None, None),)))
    plan = dispatch.plan(1.3).assign
    assert plan is not None and looked == []
    sm.apply_command(plan)
    dispatch.assigned(plan, committed=True, now=plan.now)
    assert dispatch.plan(1.4).assign is None
    assert looked == [plan.assignments[0].worker], "the worker that took the job"


def test_a_worker_that_starts_draining_after_a_plan_gets_nothing_new() -> None:
    sm, dispatch = setup(capacity=2, jobs=0, workers=("w1", "w2"))
    assert dispatch.plan(1.0).assign is None
    dispatch.leases.heard_from("w1", 1.1, draining=True)
    sm.apply_command(SubmitCmd(1.2, three_jobs()))
    plan = dispatch.plan(1.3).assign
    assert plan is not None and {a.worker for a in plan.assignments} == {"w2"}


def test_a_worker_whose_lease_ran_out_unseen_gets_nothing_new() -> None:
    """Nothing in the table or the leases changes when a lease merely runs out: the pool
    looks at every worker again once the earliest deadline in it has passed."""
    sm, dispatch = setup(capacity=2, jobs=0, workers=("w1", "w2"))
    assert dispatch.plan(1.0).assign is None
    dispatch.leases.heard_from("w2", 5.0)  # w1 is silent from 0.0
    looked = sync_counter(dispatch)
    # a renewed lease is no news: the pool is as it was
    assert dispatch.plan(LEASE_S).assign is None and looked == []
    sm.apply_command(SubmitCmd(LEASE_S, three_jobs()))
    plan = dispatch.plan(LEASE_S + 0.1).assign
    assert plan is not None and {a.worker for a in plan.assignments} == {"w2"}
    assert sorted(looked) == ["w1", "w2"], "one whole pass past w1's deadline"


def test_an_assignment_committed_after_the_worker_s_lease_ran_out_is_not_sent() -> None:
    """A leader that wakes from a pause commits what it proposed before, but by then it
    no longer trusts the worker (nor does the worker trust itself): sending would let a
    late delivery run the job beside the retry the worker's loss makes."""
    sm, dispatch = setup(capacity=2, jobs=2)
    plan = dispatch.plan(1.0).assign
    assert plan is not None
    sm.apply_command(plan)
    assert dispatch.assigned(plan, committed=True, now=1.0 + LEASE_S + 0.5) == {}
    # nor once the leader has declared it lost, however recent the lease
    sm, dispatch = setup(capacity=2, jobs=2)
    plan = dispatch.plan(1.0).assign
    assert plan is not None
    sm.apply_command(plan)
    dispatch.leases.expire_worker("w1")
    assert dispatch.assigned(plan, committed=True, now=1.5) == {}


def test_a_worker_that_left_is_taken_out_of_the_pool() -> None:
    sm, dispatch = setup(capacity=2, jobs=0, workers=("w1", "w2"))
    assert dispatch.plan(1.0).assign is None
    sm.apply_command(DeregisterWorkerCmd(1.1, "w1"))
    assert dispatch.plan(1.2).assign is None
    assert dispatch.pool is not None and "w1" not in dispatch.pool and "w2" in dispatch.pool


def test_a_follower_gathers_no_worker_news() -> None:
    sm, dispatch = setup(capacity=2, jobs=1)
    dispatch.step_down()
    sm.apply_command(RegisterWorkerCmd(1.0, "w9", 2, ("noop",)))
    assert sm.changed_workers is None
    dispatch.take_over(2, 2.0, Random(0))
    dispatch.leases.heard_from("w9", 2.0)
    plan = dispatch.plan(2.1).assign
    assert plan is not None and plan.assignments[0].worker in ("w1", "w9")
    assert sm.changed_workers == set()


def test_silent_workers_and_expired_attempts_are_proposed_with_jitter() -> None:
    sm, dispatch = setup(capacity=2)
    plan = dispatch.plan(1.0).assign
    assert plan is not None
    sm.apply_command(plan)
    dispatch.assigned(plan, committed=True, now=plan.now)
    lost, expired = dispatch.expirations(1.0 + LEASE_S + 0.1, Random(1))
    assert [cmd.worker for cmd in lost] == ["w1"]
    assert len(lost[0].jitters) == 2
    assert expired is not None and {r.job_id for r in expired.jobs} == {"j0", "j1"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["plan", "apply", "lose", "report", "settle"]), max_size=60),
    st.integers(min_value=0, max_value=2),
)
def test_no_worker_ever_holds_more_jobs_than_its_capacity(steps: list[str], prefetch: int) -> None:
    """Whatever order proposals, applies, losses and reports come in, the table never
    has a worker holding more than its capacity and queue, counting what is on its way."""
    sm, dispatch = setup(capacity=3, jobs=40, workers=("w1", "w2"), prefetch=prefetch)
    proposed: list[AssignCmd] = []
    reports: list[tuple[str, list[str], ReportCmd]] = []
    now = 1.0
    for step in steps:
        now += 0.01
        if step == "plan":
            assign = dispatch.plan(now).assign
            if assign is not None:
                proposed.append(assign)
        elif step in ("apply", "lose") and proposed:
            assign = proposed.pop(0)
            if step == "apply":
                sm.apply_command(assign)
            dispatch.assigned(assign, committed=step == "apply", now=assign.now)
        elif step == "report":
            for worker in sm.workers():
                running = sorted(worker.running)[:1]
                if running:
                    job = sm.job(running[0])
                    assert job is not None
                    counted = dispatch.reported(worker.id, running)
                    cmd = ReportCmd(now, worker.id, (done(job.id, job.attempts),))
                    reports.append((worker.id, counted, cmd))
        elif step == "settle" and reports:
            # reports are in the log before any assignment planned after them
            worker_id, counted, cmd = reports.pop(0)
            sm.apply_command(cmd)
            dispatch.report_applied(worker_id, counted)
        for worker in sm.workers():
            in_flight = sum(1 for a in proposed for x in a.assignments if x.worker == worker.id)
            freeing = len(dispatch.freeing.get(worker.id, set()) & worker.running)
            assert len(worker.running) - freeing + in_flight <= worker.capacity + prefetch
