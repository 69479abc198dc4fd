"""Limits and pauses in the table and the leader's dispatch: planned within, enforced at apply."""

from __future__ import annotations

from random import Random

import msgpack

from actors.scheduler import snapshot_codec
from actors.scheduler.backoff import Backoff
from actors.scheduler.control_views import control_stats, limits_view, throttled
from actors.scheduler.dispatch import Dispatcher
from actors.scheduler.leases import Leases
from actors.scheduler.state import JobStateMachine
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    SubmitCmd,
)
from transport.limit_commands import ClearLimitCmd, LimitCleared, PauseTypeCmd, SetLimitCmd

LEASE_S = 10.0


def setup(jobs: dict[str, int], capacity: int = 100) -> tuple[JobStateMachine, Dispatcher]:
    """A worker taking every type in ``jobs`` (type -> how many pending)."""
    sm = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", capacity, tuple(sorted(jobs))))
    new = tuple(
        NewJob(f"{t}{n}", t, b"\xc0", 5, 0, None, None, None)
        for t, count in sorted(jobs.items())
        for n in range(count)
    )
    sm.apply_command(SubmitCmd(0.0, new))
    leases = Leases(LEASE_S)
    dispatch = Dispatcher(sm, leases, policy="round_robin", lease_s=LEASE_S, max_batch=64)
    dispatch.take_over(1, 0.0, Random(0))
    leases.heard_from("w1", 0.0)
    return sm, dispatch


def types_of(sm: JobStateMachine, cmd: AssignCmd | None) -> list[str]:
    assert cmd is not None
    return [sm.jobs[a.job_id].type for a in cmd.assignments]


def commit(sm: JobStateMachine, dispatch: Dispatcher, cmd: AssignCmd | None) -> int:
    """Apply ``cmd`` and return how many of its assignments started."""
    assert cmd is not None
    sm.apply_command(cmd)
    return sum(len(batch) for batch in dispatch.assigned(cmd, committed=True, now=cmd.now).values())


def finish(sm: JobStateMachine, job_ids: list[str], now: float) -> None:
    items = tuple(ReportItem(j, 1, True, msgpack.packb(None), "", False, 0.0) for j in job_ids)
    sm.apply_command(ReportCmd(now, "w1", items))


def test_a_rate_limit_plans_the_burst_then_what_the_rate_refills() -> None:
    sm, dispatch = setup({"slow": 20, "fast": 5})
    sm.apply_command(SetLimitCmd(1.0, "slow", 2.0, 3.0, None))
    plan = dispatch.plan(1.0).assign
    assert types_of(sm, plan).count("slow") == 3 and types_of(sm, plan).count("fast") == 5
    assert commit(sm, dispatch, plan) == 8
    assert dispatch.plan(1.2).assign is None, "the bucket is empty: slow waits, nothing else"
    plan = dispatch.plan(2.0).assign
    assert types_of(sm, plan) == ["slow", "slow"], "one second of 2/s"
    assert commit(sm, dispatch, plan) == 2


def test_assignments_in_flight_hold_their_tokens() -> None:
    sm, dispatch = setup({"slow": 20})
    sm.apply_command(SetLimitCmd(1.0, "slow", 2.0, 3.0, None))
    first = dispatch.plan(1.0).assign
    assert first is not None and len(first.assignments) == 3
    # not applied yet: the bucket still shows the three tokens, all of them promised
    assert dispatch.plan(1.5).assign is None
    assert dispatch.plan(5.0).assign is None, "a full bucket holds no more than its burst"
    assert commit(sm, dispatch, first) == 3
    second = dispatch.plan(2.0).assign
    assert second is not None and len(second.assignments) == 2
    assert commit(sm, dispatch, second) == 2


def test_the_table_refuses_an_assignment_over_the_limit_whoever_proposed_it() -> None:
    sm, _ = setup({"slow": 5})
    sm.apply_command(SetLimitCmd(1.0, "slow", 1.0, 2.0, None))
    batch = tuple(AssignmentCmd(f"slow{n}", "w1", 1, 20.0) for n in range(5))
    sm.apply_command(AssignCmd(1.0, batch))
    assert [j for j in sm.jobs if sm.jobs[j].status.value == "running"] == ["slow0", "slow1"]
    assert sm.jobs["slow2"].status.value == "pending" and sm.jobs["slow2"].attempts == 0


def test_max_running_holds_a_type_until_its_jobs_finish() -> None:
    sm, dispatch = setup({"db": 6})
    sm.apply_command(SetLimitCmd(0.5, "db", None, None, 2))
    plan = dispatch.plan(1.0).assign
    assert types_of(sm, plan) == ["db", "db"] and commit(sm, dispatch, plan) == 2
    assert dispatch.plan(5.0).assign is None
    assert throttled(sm, "db", 5.0) == 4
    finish(sm, ["db0"], 6.0)
    plan = dispatch.plan(6.0).assign
    assert types_of(sm, plan) == ["db"]


def test_a_paused_type_stays_pending_while_others_run() -> None:
    sm, dispatch = setup({"mail": 3, "noop": 2})
    sm.apply_command(PauseTypeCmd(1.0, "mail", True))
    plan = dispatch.plan(1.0).assign
    assert types_of(sm, plan) == ["noop", "noop"] and commit(sm, dispatch, plan) == 2
    assert dispatch.plan(2.0).assign is None
    assert throttled(sm, "mail", 2.0) == 3
    # an assignment proposed before the pause applied after it is refused
    sm.apply_command(AssignCmd(2.0, (AssignmentCmd("mail0", "w1", 1, 20.0),)))
    assert sm.jobs["mail0"].status.value == "pending"
    sm.apply_command(PauseTypeCmd(3.0, "mail", False))
    assert types_of(sm, dispatch.plan(3.0).assign) == ["mail"] * 3


def test_a_throttled_type_is_not_even_peeked() -> None:
    sm, dispatch = setup({"slow": 1000, "fast": 1})
    sm.apply_command(SetLimitCmd(1.0, "slow", 1.0, 1.0, None))
    commit(sm, dispatch, dispatch.plan(1.0).assign)
    asked: list[tuple[frozenset[str], dict[str, int] | None]] = []
    due = sm.due_jobs

    def spy(types, limit, skip=(), caps=None):  # type: ignore[no-untyped-def]
        asked.append((frozenset(types), caps))
        return due(types, limit, skip, caps)

    sm.due_jobs = spy  # type: ignore[method-assign]
    dispatch.plan(1.5)
    assert asked == [(frozenset({"fast"}), {})], "slow has no token: its queue is left out"


def test_limits_and_pauses_survive_a_snapshot_with_their_tokens() -> None:
    sm, dispatch = setup({"slow": 5})
    sm.apply_command(SetLimitCmd(1.0, "slow", 2.0, 3.0, 4))
    sm.apply_command(PauseTypeCmd(1.0, "other", True))
    commit(sm, dispatch, dispatch.plan(1.0).assign)
    copy = JobStateMachine()
    snapshot_codec.restore(copy, b"".join(snapshot_codec.encode_pieces(sm)))
    assert copy.control.rows() == sm.control.rows()
    assert copy.control.tokens("slow", 1.0) == 0.0
    assert limits_view(copy, 1.5) == limits_view(sm, 1.5)


def test_a_snapshot_from_before_limits_restores_none() -> None:
    import msgpack as mp

    sm, _ = setup({"a": 1})
    pieces = list(snapshot_codec.encode_pieces(sm))
    version, header = mp.unpackb(pieces[0], raw=False, strict_map_key=False)
    del header["control"]
    old = mp.packb([version, header], use_bin_type=True) + b"".join(pieces[1:])
    copy = JobStateMachine()
    copy.control.pause("x", True)
    snapshot_codec.restore(copy, old)
    assert not copy.control.active and len(copy.jobs) == 1


def test_clearing_a_limit_frees_the_type_and_says_if_there_was_one() -> None:
    sm, dispatch = setup({"slow": 4})
    sm.apply_command(SetLimitCmd(1.0, "slow", 1.0, 1.0, None))
    commit(sm, dispatch, dispatch.plan(1.0).assign)
    assert sm.apply_command(ClearLimitCmd(1.1, "slow")) == LimitCleared(True)
    assert sm.apply_command(ClearLimitCmd(1.2, "slow")) == LimitCleared(False)
    assert types_of(sm, dispatch.plan(1.3).assign) == ["slow"] * 3


def test_the_views_show_limit_tokens_and_held_jobs() -> None:
    sm, dispatch = setup({"slow": 10})
    sm.apply_command(SetLimitCmd(1.0, "slow", 2.0, 4.0, 3))
    commit(sm, dispatch, dispatch.plan(1.0).assign)
    (view,) = limits_view(sm, 1.5)["limits"]  # type: ignore[misc]
    assert view == {
        "type": "slow",
        "rate_per_s": 2.0,
        "burst": 4.0,
        "max_running": 3,
        "paused": False,
        "tokens": 2.0,
        "running": 3,
        "pending": 7,
        "throttled": 7,
    }
    assert control_stats(sm, 1.5)["throttled"] == {"slow": 7}
