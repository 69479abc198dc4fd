"""The leader's decision: which ticks of a schedule to fire now, by its clock.

A tick is due once the clock has reached it and it is later than the
schedule's mark (its last fired tick, or when it was defined or resumed).
Normally one tick is due, and it fires. More are due after a time nobody
fired them: no leader (an election, every master down), or a leader that was
frozen or cut off. ``catch_up`` says what then:

- ``skip``: missed ticks are dropped. Only the latest due tick may fire, and
  only while it is on time: no more than :data:`SKIP_GRACE_S` late (so an
  hourly job survives a failover of a few seconds, but not an outage that
  ran past its hour by more than a minute).
- ``one``: one job for all of them, for the latest due tick, however late.
- ``all``: one job per due tick, the latest :data:`MAX_CATCH_UP` of them
  (older ones are dropped), oldest first, in one log entry.

The mark only moves forward, through the log, so nothing here can fire a
tick twice; this only decides what to propose.
"""

from __future__ import annotations

from attrs import frozen

from actors.scheduler.schedule_ticks import Cadence

__all__ = ["MAX_CATCH_UP", "SKIP_GRACE_S", "Due", "due_ticks"]

# the most ticks `all` fires after a gap
MAX_CATCH_UP = 100
# how late a tick may be and still fire under `skip`
SKIP_GRACE_S = 60.0


@frozen
class Due:
    """``ticks`` to fire now (oldest first), and the next time worth looking again (the
    next tick after ``now``; None when there is none)."""

    ticks: tuple[float, ...]
    next_check: float | None


def due_ticks(cadence: Cadence, mark: float, now: float, catch_up: str) -> Due:
    """What to fire at ``now`` of a schedule whose ticks up to ``mark`` are done."""
    upcoming = cadence.next_after(max(mark, now))
    if now <= mark:
        return Due((), upcoming)
    limit = MAX_CATCH_UP if catch_up == "all" else 1
    ticks = cadence.latest(mark, now, limit)
    if catch_up == "skip" and ticks and now - ticks[-1] > SKIP_GRACE_S:
        ticks = []
    return Due(tuple(ticks), upcoming)
