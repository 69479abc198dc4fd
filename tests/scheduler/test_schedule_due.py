"""The leader's decision (which ticks to fire, by catch_up) and the table's guard together:
whatever leaders propose, from whatever clocks, each tick makes at most one job."""

from __future__ import annotations

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.schedule_due import MAX_CATCH_UP, SKIP_GRACE_S, Due, due_ticks
from actors.scheduler.schedule_ticks import Cadence
from actors.scheduler.schedules import ScheduleTable
from transport.cluster import JobSpec
from transport.schedule_commands import FireScheduleCmd, PutScheduleCmd, ScheduleSpec

T0 = 1_800_000_000.0
EVERY_10 = Cadence.of(None, 10, "UTC", T0)


def test_one_tick_on_time_fires_under_every_rule() -> None:
    for rule in ("skip", "one", "all"):
        assert due_ticks(EVERY_10, T0, T0 + 10.2, rule) == Due((T0 + 10,), T0 + 20)


def test_nothing_is_due_before_the_next_tick_or_while_the_clock_is_behind_the_mark() -> None:
    assert due_ticks(EVERY_10, T0, T0 + 9.9, "all") == Due((), T0 + 10)
    # a leader whose clock is an hour behind the mark waits for it, firing nothing
    assert due_ticks(EVERY_10, T0, T0 - 3600, "all") == Due((), T0 + 10)


def test_after_a_gap_skip_drops_missed_ticks_and_fires_the_latest_only_if_on_time() -> None:
    # 5 ticks missed; the latest is 3 s late: it fires, the 4 before it do not
    assert due_ticks(EVERY_10, T0, T0 + 53, "skip") == Due((T0 + 50,), T0 + 60)
    hourly = Cadence.of("0 * * * *", None, "UTC", T0)
    hour = 1_800_000_000 - 1_800_000_000 % 3600.0
    late = hour + 3600 + SKIP_GRACE_S + 1
    assert due_ticks(hourly, hour, late, "skip") == Due((), hour + 7200)
    assert due_ticks(hourly, hour, late - 2, "skip").ticks == (hour + 3600,)


def test_after_a_gap_one_fires_one_job_for_the_latest_tick_however_late() -> None:
    assert due_ticks(EVERY_10, T0, T0 + 10_005, "one") == Due((T0 + 10_000,), T0 + 10_010)


def test_after_a_gap_all_fires_each_missed_tick_up_to_the_bound() -> None:
    assert due_ticks(EVERY_10, T0, T0 + 35, "all").ticks == (T0 + 10, T0 + 20, T0 + 30)
    many = due_ticks(EVERY_10, T0, T0 + 10 * 500 + 1, "all").ticks
    assert len(many) == MAX_CATCH_UP and many[-1] == T0 + 5000
    assert many[0] == T0 + 10 * (500 - MAX_CATCH_UP + 1), "the latest 100, oldest first"


def spec(catch_up: str) -> ScheduleSpec:
    job = JobSpec("noop", msgpack.packb({}), 5, 0, None, None, None)
    return ScheduleSpec("s", None, 10.0, "UTC", catch_up, job)


# one leader's turn: how far its clock moved (it may go back: a new leader, a step),
# whether it proposes its fire twice, and whether its fire is lost (not committed)
turns = st.lists(
    st.tuples(st.floats(-40, 60), st.booleans(), st.booleans()), min_size=1, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(catch_up=st.sampled_from(["skip", "one", "all"]), turns=turns)
def test_whatever_leaders_propose_each_tick_makes_at_most_one_job(
    catch_up: str, turns: list[tuple[float, bool, bool]]
) -> None:
    table = ScheduleTable()
    table.change(PutScheduleCmd(T0, spec(catch_up), False), T0)
    log_now, clock, made = T0, T0, []
    proposed: list[FireScheduleCmd] = []
    for step, (moved, twice, lost) in enumerate(turns):
        clock += moved
        entry = table.get("s")
        assert entry is not None
        due = due_ticks(EVERY_10, entry.mark, clock, catch_up)
        if not due.ticks:
            continue
        ids = tuple(f"j{step}-{n}" for n in range(len(due.ticks)))
        fire = FireScheduleCmd(clock, "s", entry.version, due.ticks, ids)
        proposed.append(fire)
        if lost:
            continue
        # an old proposal committed late by a later leader, then this one, maybe twice
        for cmd in [*proposed[-2:-1], fire, *([fire] if twice else [])]:
            log_now = max(log_now, cmd.now)
            made += [(job.options.scheduled_for if job.options else None)
                     for job in table.fire(cmd, log_now)]  # fmt: skip
    assert len(made) == len(set(made)), "a tick made two jobs"
    assert made == sorted(made), "ticks fire in order"
    entry = table.get("s")
    assert entry is not None and entry.fired == len(made)
    assert all(tick is not None and tick % 10 == 0 and tick <= log_now for tick in made)
