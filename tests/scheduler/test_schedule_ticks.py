"""Tick arithmetic: periods and cron expressions (cronsim) in time zones, and their checks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.schedule_ticks import Cadence, CadenceError

# 2026-11-23T12:00:00Z
NOON = 1_795_435_200.0
CRONS = ["*/5 * * * *", "0 3 * * *", "30 2 * * *", "0 */6 * * 1-5", "15,45 * * * *",
         "*/20 * * * * *", "0 0 1 * *"]  # fmt: skip
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def forward(cadence: Cadence, after: float, upto: float) -> list[float]:
    """Every tick in (after, upto], one ``next_after`` at a time."""
    ticks = []
    tick = cadence.next_after(after)
    while tick is not None and tick <= upto:
        ticks.append(tick)
        tick = cadence.next_after(tick)
    return ticks


def test_every_s_ticks_on_multiples_of_the_period_since_the_epoch() -> None:
    every = Cadence.of(None, 30, "UTC", NOON)
    assert every.next_after(NOON) == NOON + 30
    assert every.next_after(NOON + 0.001) == NOON + 30
    assert every.next_after(NOON - 0.001) == NOON
    assert every.latest(NOON - 100, NOON, 100) == [NOON - 90, NOON - 60, NOON - 30, NOON]
    assert every.latest(NOON - 100, NOON, 2) == [NOON - 30, NOON]
    assert every.latest(NOON, NOON, 5) == [] and every.latest(NOON, NOON + 29, 5) == []


@settings(max_examples=300, deadline=None)
@given(
    every=st.floats(1, 100_000) | st.integers(1, 86_400).map(float),
    after=st.floats(0, 4e9),
    span=st.floats(0, 1e6),
    limit=st.integers(1, 120),
)
def test_every_s_ticks_are_exact_whatever_the_float_rounding(
    every: float, after: float, span: float, limit: int
) -> None:
    cadence = Cadence.of(None, every, "UTC", after)
    upto = after + span
    first = cadence.next_after(after)
    assert first is not None and first > after and first - every <= after
    ticks = cadence.latest(after, upto, limit)
    assert all(after < t <= upto for t in ticks)
    assert ticks == sorted(set(ticks)) and len(ticks) <= limit
    if ticks:
        following = cadence.next_after(ticks[-1])
        assert following is not None and following > upto, "the latest tick is the last"
        assert cadence.next_after(ticks[0] - every / 2) == ticks[0]


def test_cron_ticks_in_a_time_zone() -> None:
    paris = Cadence.of("0 3 * * *", None, "Europe/Paris", NOON)
    tick = paris.next_after(NOON)
    assert tick is not None
    local = datetime.fromtimestamp(tick, ZoneInfo("Europe/Paris"))
    assert (local.day, local.hour, local.minute) == (24, 3, 0)
    assert paris.latest(NOON - 3 * 86_400, NOON, 10) == [tick - 3 * 86_400 + d * 86_400
                                                          for d in range(3)]  # fmt: skip
    seconds = Cadence.of("*/20 * * * * *", None, "UTC", NOON)
    assert seconds.latest(NOON - 60, NOON, 10) == [NOON - 40, NOON - 20, NOON]


@settings(max_examples=150, deadline=None)
@given(
    cron=st.sampled_from(CRONS),
    zone=st.sampled_from(ZONES),
    # around both daylight-saving changes of the northern and southern hemisphere
    after=st.floats(1_772_000_000, 1_806_000_000),
    span=st.floats(0, 4 * 86_400),
    limit=st.integers(1, 30),
)
def test_cron_looking_back_finds_what_stepping_forward_finds(
    cron: str, zone: str, after: float, span: float, limit: int
) -> None:
    cadence = Cadence.of(cron, None, zone, after)
    upto = after + span
    every = forward(cadence, after, upto)
    assert every == sorted(set(every)), "ticks only go forward"
    assert cadence.latest(after, upto, limit) == every[-limit:]


@pytest.mark.parametrize(
    ("cron", "every_s", "zone", "field", "words"),
    [
        (None, None, "UTC", "cron", 'one of "cron" and "every_s"'),
        ("* * * * *", 5, "UTC", "cron", 'one of "cron" and "every_s"'),
        ("61 * * * *", None, "UTC", "cron", "Bad minute"),
        ("* * *", None, "UTC", "cron", "Wrong number of fields"),
        ("0 0 30 2 *", None, "UTC", "cron", "Bad day-of-month"),
        (None, 0.5, "UTC", "every_s", "from 1 to"),
        (None, 1e12, "UTC", "every_s", "from 1 to"),
        ("* * * * *", None, "Nowhere/City", "timezone", "IANA time zone"),
        ("* * * * *", None, "../etc/passwd", "timezone", "IANA time zone"),
        ("* * * * *", None, "", "timezone", "IANA time zone"),
    ],
)
def test_bad_timing_names_its_field(
    cron: str | None, every_s: float | None, zone: str, field: str, words: str
) -> None:
    with pytest.raises(CadenceError) as bad:
        Cadence.of(cron, every_s, zone, NOON)
    assert bad.value.field == field and words in str(bad.value)
