"""When a schedule's ticks fall: a cron expression in a time zone (cronsim), or a period.

Ticks are epoch seconds. A cron schedule's ticks are whole seconds where its
expression matches the wall clock of its ``timezone`` (five fields, minute
first, or six with seconds first; daylight-saving changes as Debian's cron
handles them, which cronsim follows). An ``every_s`` schedule ticks at the
multiples of its period since the Unix epoch, so ``every_s: 3600`` fires on
the hour and a schedule defined again keeps the same ticks.

Only the leader (which fires) and the API views (next run) ask; applying the
log never does, so a master whose time-zone database differs can never
disagree with the others about the replicated state.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

__all__ = ["MAX_EVERY_S", "MIN_EVERY_S", "Cadence", "CadenceError"]

MIN_EVERY_S = 1.0
# ten years: a longer period is a mistake (or a one-off job, which run_at is for)
MAX_EVERY_S = 10 * 366 * 86_400.0
# ticks a look may step over that are not where they belong (a daylight-saving fold)
_SLACK = 8


class CadenceError(ValueError):
    """A field of a schedule's timing is wrong; ``field`` names it for the 400."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Cadence:
    """The ticks of one schedule; build it with :meth:`of`, which checks every field."""

    __slots__ = ("cron", "every_s", "timezone", "zone")

    def __init__(self, cron: str | None, every_s: float | None, zone: ZoneInfo) -> None:
        self.cron = cron
        self.every_s = every_s
        self.zone = zone
        self.timezone = zone.key

    @classmethod
    def of(cls, cron: str | None, every_s: float | None, timezone: str, now: float) -> Cadence:
        """Checked timing; ``now`` is when it starts (a cron that never fires after it is
        refused)."""
        if (cron is None) == (every_s is None):
            raise CadenceError("cron", 'give one of "cron" and "every_s"')
        zone = _zone(timezone)
        if every_s is not None:
            if not MIN_EVERY_S <= every_s <= MAX_EVERY_S:
                raise CadenceError(
                    "every_s",
                    f"every_s must be from {MIN_EVERY_S:g} to {MAX_EVERY_S:g} seconds, "
                    f"got {every_s!r}",
                )
            return cls(None, float(every_s), zone)
        assert cron is not None
        try:
            CronSim(cron, datetime.fromtimestamp(math.floor(now), zone))
        except CronSimError as exc:
            raise CadenceError(
                "cron",
                f"cron must be a cron expression of 5 fields (minute hour day-of-month month "
                f"day-of-week) or 6 (seconds first), got {cron!r}: {exc}",
            ) from None
        cadence = cls(cron, None, zone)
        if cadence.next_after(now) is None:
            raise CadenceError("cron", f"cron {cron!r} never fires")
        return cadence

    def next_after(self, t: float) -> float | None:
        """The first tick later than ``t``; None if there is none (a cron that matched
        its last date)."""
        every = self.every_s
        if every is not None:
            return (_index_at_or_before(t, every) + 1) * every
        assert self.cron is not None
        ticks = CronSim(self.cron, datetime.fromtimestamp(math.floor(t), self.zone))
        for _ in range(_SLACK):
            try:
                tick = next(ticks).timestamp()
            except StopIteration:
                return None
            if tick > t:
                return tick
        return None

    def latest(self, after: float, upto: float, limit: int) -> list[float]:
        """The last ``limit`` ticks later than ``after`` and no later than ``upto``,
        oldest first. Found from ``upto`` backwards, so a long gap costs ``limit``
        steps, not one per tick in it."""
        if limit <= 0 or upto <= after:
            return []
        every = self.every_s
        if every is not None:
            high = _index_at_or_before(upto, every)
            low = max(_index_at_or_before(after, every) + 1, high - limit + 1)
            return [k * every for k in range(low, high + 1)]
        assert self.cron is not None
        start = datetime.fromtimestamp(math.floor(upto) + 1, self.zone)
        found: set[float] = set()
        for tick_time in CronSim(self.cron, start, reverse=True):
            tick = tick_time.timestamp()
            if tick <= after:
                break
            if tick <= upto:
                found.add(tick)
                if len(found) >= limit:
                    break
        return sorted(found)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise CadenceError(
            "timezone",
            f"timezone must be an IANA time zone name such as 'UTC' or 'Europe/Paris', "
            f"got {name!r}",
        ) from None


def _index_at_or_before(t: float, every: float) -> int:
    """The largest ``k`` with ``k * every <= t`` (exact, whatever the float division
    rounded to)."""
    k = math.floor(t / every)
    while (k + 1) * every <= t:
        k += 1
    while k * every > t:
        k -= 1
    return k
