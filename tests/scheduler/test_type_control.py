"""Type limits and pauses, the pure part: the token bucket, max_running, the snapshot rows."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.type_control import Limit, TypeControl, default_burst
from bench.limits import bound_held


def limited(
    rate: float = 2.0, burst: float | None = 3.0, running: int | None = None
) -> TypeControl:
    control = TypeControl()
    control.set("t", Limit(rate, burst, running), 100.0)
    return control


def test_a_new_bucket_starts_full_and_each_start_takes_a_token() -> None:
    control = limited(rate=2.0, burst=3.0)
    assert control.tokens("t", 100.0) == 3.0
    assert [control.admit("t", 100.0, 0) for _ in range(4)] == [True, True, True, False]
    assert control.tokens("t", 100.0) == 0.0


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    control = limited(rate=2.0, burst=3.0)
    for _ in range(3):
        control.admit("t", 100.0, 0)
    assert control.tokens("t", 100.25) == 0.5
    assert not control.admit("t", 100.25, 0), "half a token is not a job"
    assert control.admit("t", 100.5, 0)
    assert control.tokens("t", 200.0) == 3.0, "never more than the burst"


def test_reading_the_bucket_never_changes_it() -> None:
    control = limited(rate=2.0, burst=3.0)
    control.admit("t", 100.0, 0)
    for now in (101.0, 150.0, 100.5):
        control.tokens("t", now)
        control.room("t", now, 0)
    assert control.buckets["t"].tokens == 2.0 and control.buckets["t"].at == 100.0


def test_time_going_back_adds_nothing() -> None:
    control = limited(rate=2.0, burst=3.0)
    for _ in range(3):
        control.admit("t", 100.0, 0)
    assert control.tokens("t", 90.0) == 0.0
    assert not control.admit("t", 90.0, 0)


def test_max_running_counts_what_runs() -> None:
    control = limited(rate=1000.0, burst=1000.0, running=2)
    assert control.admit("t", 100.0, 1)
    assert not control.admit("t", 100.0, 2)
    assert control.room("t", 100.0, 0) == 2
    assert control.room("t", 100.0, 1, in_flight=1) == 0


def test_room_counts_tokens_and_starts_in_flight() -> None:
    control = limited(rate=2.0, burst=5.0, running=10)
    assert control.room("t", 100.0, 0) == 5
    assert control.room("t", 100.0, 0, in_flight=2) == 3
    assert control.room("t", 100.0, 8, in_flight=1) == 1, "max_running binds first"
    assert control.room("other", 100.0, 0) is None, "an unlimited type has no room to count"


def test_a_paused_type_starts_nothing_and_resumes_where_it_was() -> None:
    control = TypeControl()
    assert not control.active
    control.pause("t", True)
    assert control.active and control.room("t", 1.0, 0) == 0
    assert not control.admit("t", 1.0, 0)
    control.pause("t", False)
    assert not control.active and control.admit("t", 1.0, 0)


def test_setting_a_limit_again_hands_out_no_fresh_burst() -> None:
    control = limited(rate=2.0, burst=3.0)
    for _ in range(3):
        control.admit("t", 100.0, 0)
    control.set("t", Limit(2.0, 3.0, None), 100.0)
    assert control.tokens("t", 100.0) == 0.0
    control.set("t", Limit(10.0, 2.0, None), 101.0)
    assert control.tokens("t", 101.0) == 2.0, "refilled at the old rate, capped at the new burst"


def test_the_default_burst_is_a_second_of_the_rate_and_at_least_one() -> None:
    assert default_burst(50.0) == 50.0 and default_burst(0.2) == 1.0
    control = limited(rate=0.2, burst=None)
    assert control.limits["t"].burst == 1.0 and control.tokens("t", 100.0) == 1.0


def test_clearing_a_limit_says_whether_there_was_one() -> None:
    control = limited()
    assert control.clear("t") and not control.clear("t")
    assert control.room("t", 100.0, 0) is None and not control.active


def test_the_rows_restore_the_same_state() -> None:
    control = limited(rate=2.0, burst=3.0, running=4)
    control.admit("t", 100.0, 0)
    control.set("u", Limit(None, None, 1), 100.0)
    control.pause("u", True)
    control.pause("v", True)
    copy = TypeControl()
    copy.restore(control.rows())
    assert copy.rows() == control.rows()
    assert copy.types() == ["t", "u", "v"]
    assert copy.tokens("t", 100.5) == control.tokens("t", 100.5) == 3.0


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.5, 50.0),
    burst=st.floats(1.0, 20.0),
    gaps=st.lists(st.floats(0.0, 0.5), min_size=1, max_size=300),
)
def test_starts_in_any_window_stay_within_rate_times_window_plus_burst(
    rate: float, burst: float, gaps: list[float]
) -> None:
    """Whatever is asked, when: the admitted starts fit the bucket's arrival curve."""
    control = TypeControl()
    control.set("t", Limit(rate, burst, None), 0.0)
    now, admitted = 0.0, []
    for gap in gaps:
        now += gap
        if control.admit("t", now, 0):
            admitted.append(now)
    assert bound_held(admitted, rate, burst)


def test_a_full_second_of_asking_gets_rate_plus_burst() -> None:
    control = TypeControl()
    control.set("t", Limit(50.0, 50.0, None), 0.0)
    admitted = sum(control.admit("t", n / 1000, 0) for n in range(1000))
    assert admitted == math.floor(50 + 50 * 0.999)
