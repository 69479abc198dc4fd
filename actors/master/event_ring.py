"""One master's retained events: a bounded ring, and who waits for the next ones.

Log events (:mod:`actors.master.events`) arrive in log order as entries
apply; soft events (progress, a worker draining, a leader change) are made
by this master and get the id ``"<applied index>-s<n>"``: after every log
event up to the index this master had applied, before the next entry's. Ids
therefore only grow in a ring, and resuming "after id X" is exact:

- after a log event's id, on any master: nothing in the window is missed
  or repeated (every master derives the same log events with the same ids);
- after a soft event's id on another master: the log events are exact, but
  the other master's soft events since that index may differ (it made its
  own): some progress or draining events may be missed or seen twice.

Cost follows live work: appending is a deque append (bounded by
``retained``, the ``http.events_retained`` key); waking listeners happens
only when someone listens. No clock, no I/O: the times come in with the
events, and a listener registers a plain callback.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from itertools import islice

from actors.master.events import Event, EventKey, event_key

__all__ = ["EventRing"]


class EventRing:
    def __init__(self, retained: int) -> None:
        if retained < 1:
            raise ValueError("an event ring retains at least one event")
        self.events: deque[Event] = deque(maxlen=retained)
        # callbacks to run once when the next events arrive
        self.waiters: list[Callable[[], None]] = []
        # the last log index applied here, and soft events made since
        self.applied = 0
        self._soft_n = 0
        # the first log index whose events this ring holds all of (a restart or a
        # snapshot install starts the ring over there)
        self.complete_from = 1
        # the master that filled it stopped: a listener asks the new one
        self.closed = False
        # the key of the newest event the full ring let go of
        self.dropped: EventKey | None = None

    def applied_entry(self, index: int, events: list[Event]) -> None:
        """Entry ``index`` applied, making ``events`` (often none)."""
        if index != self.applied:
            self.applied = index
            self._soft_n = 0
        if events:
            self._append(events)
            if self.waiters:
                self._wake()

    def restarted_at(self, index: int) -> None:
        """The table was replaced by a snapshot at ``index``: events before it are not here."""
        self.applied = index
        self._soft_n = 0
        self.starts_after(index)

    def starts_after(self, index: int) -> None:
        """The master started from a snapshot at ``index``: the events of entries up to it
        were never derived here."""
        self.complete_from = index + 1

    def add_soft(self, kind: str, now: float, **fields: object) -> None:
        """A soft event made by this master now."""
        event = Event(self.applied, self._soft_n, True, kind, now, **fields)  # type: ignore[arg-type]
        self._soft_n += 1
        self._append([event])
        if self.waiters:
            self._wake()

    def _append(self, new: list[Event]) -> None:
        events = self.events
        over = len(events) + len(new) - (events.maxlen or 0)
        if over > 0:
            gone = events[over - 1] if over <= len(events) else new[over - len(events) - 1]
            self.dropped = event_key(gone)
        events.extend(new)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for wake in waiters:
            wake()

    def newest(self) -> EventKey:
        """The key a listener starting now resumes after."""
        if self.events:
            return event_key(self.events[-1])
        return (self.applied, 1, self._soft_n - 1)

    def after(self, key: EventKey) -> list[Event]:
        """The retained events after ``key``, oldest first."""
        events = self.events
        newer = 0
        for event in reversed(events):
            if event_key(event) <= key:
                break
            newer += 1
        return list(islice(events, len(events) - newer, None))

    def whole_after(self, key: EventKey) -> EventKey:
        """The earliest key, ``key`` or later, after which this ring holds every event:
        past what the full ring let go of and what it started after."""
        # before every event of the index the ring starts after (none of which it holds)
        floor: EventKey = (self.complete_from - 1, 0, -1)
        if self.dropped is not None and self.dropped > floor:
            floor = self.dropped
        return max(key, floor)


def matching(
    events: Iterable[Event],
    types: frozenset[str] | None,
    job: str | None,
    status: str | None,
    owner: str | None = None,
) -> list[Event]:
    """The events a listener's filters admit (``types`` holds full types and families);
    with ``owner``, of jobs only that owner's (worker and leader events are everyone's)."""
    return [
        e
        for e in events
        if (types is None or e.type in types or e.type.partition(".")[0] in types)
        and (job is None or e.job == job)
        and (status is None or e.status == status)
        and (owner is None or e.job is None or e.owner == owner)
    ]
