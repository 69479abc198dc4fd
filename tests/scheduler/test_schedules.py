"""The replicated schedule table inside the job table: definitions, pause, the fire guard,
the jobs a fire makes, the snapshot, and the leader's firing bookkeeping."""

from __future__ import annotations

import json

import msgpack

from actors.scheduler import snapshot_codec
from actors.scheduler.lifecycle import JobStatus
from actors.scheduler.schedule_firing import ScheduleFiring
from actors.scheduler.state import JobStateMachine
from transport.cluster import JobSpec
from transport.job_options import JobOptions, RetryPolicy
from transport.schedule_commands import (
    DeleteScheduleCmd,
    FireScheduleCmd,
    PauseScheduleCmd,
    PutScheduleCmd,
    ScheduleSpec,
)
from transport.schedule_requests import ScheduleChanged

T0 = 1_800_000_000.0
OPTIONS = JobOptions(retry=RetryPolicy(base_s=2.0))
JOB = JobSpec("report", msgpack.packb({"to": "ops"}), 7, 2, 30.0, None, None, OPTIONS)


def spec(name: str = "s", every_s: float = 10.0, **kw: object) -> ScheduleSpec:
    fields = {"cron": None, "every_s": every_s, "timezone": "UTC", "catch_up": "skip", "job": JOB}
    return ScheduleSpec(name, **{**fields, **kw})  # type: ignore[arg-type]


def fire(sm: JobStateMachine, now: float, *ticks: float, name: str = "s") -> list[str]:
    """Apply a fire of ``ticks``; the ids of the jobs it made."""
    entry = sm.schedules.get(name)
    version = entry.version if entry else 0
    ids = tuple(f"{name}@{t:.0f}" for t in ticks)
    before = set(sm.jobs)
    sm.apply_command(FireScheduleCmd(now, name, version, ticks, ids))
    return [i for i in ids if i in sm.jobs and i not in before]


def defined(**kw: object) -> JobStateMachine:
    sm = JobStateMachine()
    answer = sm.apply_command(PutScheduleCmd(T0, spec(**kw), False))
    assert isinstance(answer, ScheduleChanged) and answer.outcome == "created"
    return sm


def test_a_fire_makes_the_schedules_job_marked_with_the_tick() -> None:
    sm = defined()
    (job_id,) = fire(sm, T0 + 10.3, T0 + 10)
    job = sm.job(job_id)
    assert job is not None and job.status is JobStatus.PENDING
    assert (job.type, job.payload, job.priority, job.max_retries) == ("report", JOB.payload, 7, 2)
    assert job.timeout_s == 30.0 and job.run_at is None and job.idempotency_key is None
    assert job.options == JobOptions(
        retry=RetryPolicy(base_s=2.0), schedule="s", scheduled_for=T0 + 10
    )
    entry = sm.schedules.get("s")
    assert entry is not None
    assert (entry.mark, entry.last_fired, entry.last_job, entry.fired) == (
        T0 + 10, T0 + 10, job_id, 1
    )  # fmt: skip


def test_a_tick_not_later_than_the_mark_makes_nothing() -> None:
    sm = defined()
    assert fire(sm, T0 + 30, T0) == [], "a tick at the definition's time"
    assert len(fire(sm, T0 + 30, T0 + 10, T0 + 20)) == 2
    assert fire(sm, T0 + 30, T0 + 20) == [], "the last tick again (a new leader)"
    assert fire(sm, T0 + 30, T0 + 10) == [], "an older tick (a clock stepped back)"
    assert fire(sm, T0 + 30, T0 + 20, T0 + 30) == [f"s@{T0 + 30:.0f}"], "only the new one"
    assert fire(sm, T0 + 35, T0 + 40) == [], "a tick later than the log's time"
    assert sm.schedules.get("s").fired == 3  # type: ignore[union-attr]


def test_a_fire_for_a_paused_deleted_or_redefined_schedule_makes_nothing() -> None:
    sm = defined()
    sm.apply_command(PauseScheduleCmd(T0 + 1, "s", True))
    assert fire(sm, T0 + 20, T0 + 10) == []
    resumed = sm.apply_command(PauseScheduleCmd(T0 + 25, "s", False))
    assert isinstance(resumed, ScheduleChanged) and resumed.outcome == "resumed"
    assert fire(sm, T0 + 25, T0 + 20) == [], "ticks that fell while paused never fire"
    assert len(fire(sm, T0 + 31, T0 + 30)) == 1
    old = sm.schedules.get("s")
    assert old is not None
    sm.apply_command(DeleteScheduleCmd(T0 + 32, "s"))
    assert fire(sm, T0 + 40, T0 + 40) == []
    sm.apply_command(PutScheduleCmd(T0 + 33, spec(), False))
    stale = FireScheduleCmd(T0 + 40, "s", old.version, (T0 + 40,), ("late",))
    sm.apply_command(stale)
    assert sm.job("late") is None, "a fire meant for the deleted definition"


def test_a_unique_key_keeps_one_live_job_however_many_ticks_fire() -> None:
    only_one = JobSpec("report", JOB.payload, 5, 0, None, None, None, JobOptions(unique_key="u"))
    sm = defined(job=only_one)
    (first,) = fire(sm, T0 + 10.1, T0 + 10)
    assert fire(sm, T0 + 20.1, T0 + 20) == [], "the tick found the live job"
    entry = sm.schedules.get("s")
    assert entry is not None and (entry.fired, entry.last_fired, entry.last_job) == (
        2, T0 + 20, first
    )  # fmt: skip
    view = json.loads(sm.apply_command(PauseScheduleCmd(T0 + 21, "s", True)).view)  # type: ignore[union-attr]
    assert view["job"]["unique_key"] == "u"


def test_put_again_is_same_or_conflict_and_changes_answer_with_the_view() -> None:
    sm = defined()
    same = sm.apply_command(PutScheduleCmd(T0 + 5, spec(), True))
    other = sm.apply_command(PutScheduleCmd(T0 + 5, spec(every_s=20.0), False))
    assert isinstance(same, ScheduleChanged) and same.outcome == "same"
    assert isinstance(other, ScheduleChanged) and other.outcome == "conflict"
    view = json.loads(same.view)
    assert view["paused"] is False and view["every_s"] == 10.0, "a repeat changes nothing"
    assert view["next_run_at"] == T0 + 10 and view["fired"] == 0
    assert view["job"] == {"type": "report", "payload": {"to": "ops"}, "priority": 7,
                           "max_retries": 2, "timeout_s": 30.0,
                           "retry": {"base_s": 2.0, "multiplier": None, "cap_s": None,
                                     "jitter": None, "no_retry_exit_codes": []}}  # fmt: skip
    paused = sm.apply_command(PauseScheduleCmd(T0 + 6, "s", True))
    assert isinstance(paused, ScheduleChanged) and json.loads(paused.view)["next_run_at"] is None
    gone = sm.apply_command(DeleteScheduleCmd(T0 + 7, "s"))
    assert isinstance(gone, ScheduleChanged) and gone.outcome == "deleted"
    missing = sm.apply_command(DeleteScheduleCmd(T0 + 8, "s"))
    assert missing == ScheduleChanged("s", "not_found", b"")


def test_the_snapshot_carries_the_schedules_and_an_older_one_restores_without() -> None:
    sm = defined()
    sm.apply_command(PutScheduleCmd(T0, spec("nightly", None, cron="0 3 * * *"), True))
    fire(sm, T0 + 21, T0 + 10, T0 + 20)
    data = b"".join(snapshot_codec.encode_pieces(sm))
    copy = JobStateMachine()
    snapshot_codec.restore(copy, data)
    assert b"".join(snapshot_codec.encode_pieces(copy)) == data
    restored = copy.schedules.get("s")
    assert restored is not None and restored == sm.schedules.get("s")
    assert fire(copy, T0 + 25, T0 + 20) == [], "the mark came with the snapshot"
    assert copy.schedules.serial == 2
    header_piece, *rows = snapshot_codec.encode_pieces(sm)
    form, header = msgpack.unpackb(header_piece, raw=False)
    del header["schedules"], header["schedule_serial"]
    older = JobStateMachine()
    old = msgpack.packb([form, header], use_bin_type=True) + b"".join(rows)
    snapshot_codec.restore(older, old)
    assert len(older.schedules) == 0 and len(older.jobs) == len(sm.jobs)


def test_the_leader_proposes_one_fire_per_due_schedule_until_it_is_done() -> None:
    sm = defined()
    sm.apply_command(PutScheduleCmd(T0, spec("paused", 5.0), True))
    firing = ScheduleFiring(lambda: sm.schedules)
    ids = iter(f"id{n}" for n in range(100))
    assert firing.due(T0 + 9, lambda: next(ids)) == []
    (first,) = firing.due(T0 + 10.1, lambda: next(ids))
    assert (first.name, first.ticks, first.job_ids) == ("s", (T0 + 10,), ("id0",))
    assert firing.due(T0 + 20.1, lambda: next(ids)) == [], "one fire in flight at a time"
    sm.apply_command(first)
    firing.done("s")
    (second,) = firing.due(T0 + 20.1, lambda: next(ids))
    assert second.ticks == (T0 + 20,)
    firing.done("s")  # lost: the same tick is proposed again
    assert firing.due(T0 + 20.2, lambda: next(ids))[0].ticks == (T0 + 20,)
    firing.step_down()
    assert firing.in_flight == set() and firing.take_unusable() == []


def test_a_schedule_this_master_cannot_time_is_reported_once_and_skipped() -> None:
    sm = defined(timezone="Atlantis/Capital", cron="* * * * *", every_s=None)
    firing = ScheduleFiring(lambda: sm.schedules)
    assert firing.due(T0 + 120, lambda: "x") == []
    assert firing.due(T0 + 240, lambda: "x") == []
    assert firing.take_unusable() == ["s"] and firing.take_unusable() == []
