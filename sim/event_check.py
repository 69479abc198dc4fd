"""The simulator's check that every master derives the same events from the same log.

A master derives events from each command it applies
(:mod:`actors.master.events`), with ids ``"<log index>-<n>"``: that every
master makes the same log events under the same ids is what lets a client
resume an event stream on another master after a failover. So, after every
step, :class:`EventAgreement` compares what each master's ring holds of each
log index with what the first master to derive that index made: the same
events, field for field, in the same order, or none on both.

A ring does not hold every index. It starts over at a snapshot (a master
restarted from its own, or installed a leader's: ``complete_from``), it is
bounded (``http.events_retained``: ``dropped`` is the newest event let go),
and it ends at the index applied. Only indexes it holds whole are compared:
from the later of those starts, to the index applied. Soft events (progress,
a worker draining, a leader change) are a master's own view and are left
out. Each check reads only the events a ring gained since the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from actors.master.event_ring import EventRing
from actors.master.events import Event

__all__ = ["EventAgreement"]


class EventAgreement:
    def __init__(self, rings: Callable[[], Mapping[str, EventRing | None]]) -> None:
        """``rings`` gives each master's event ring, its current incarnation's (None while
        it is down)."""
        self.rings = rings
        # log index -> the master that derived it first, and the log events it made
        self.derived: dict[int, tuple[str, tuple[Event, ...]]] = {}
        # master -> the ring of its incarnation last looked at, and the index compared up to
        self.compared: dict[str, tuple[EventRing, int]] = {}
        # indexes compared on a second master (the check is not vacuous)
        self.agreed = 0

    def check(self) -> str | None:
        for name, ring in self.rings().items():
            if ring is not None:
                problem = self._compare(name, ring)
                if problem is not None:
                    return problem
        return None

    def _compare(self, name: str, ring: EventRing) -> str | None:
        last = self.compared.get(name)
        upto = last[1] if last is not None and last[0] is ring else 0
        applied = ring.applied
        if applied <= upto:
            return None
        start = max(upto + 1, ring.complete_from)
        if ring.dropped is not None:
            start = max(start, ring.dropped[0] + 1)
        gained: dict[int, list[Event]] = {}
        for event in reversed(ring.events):
            if event.at < start:
                break
            if not event.soft:
                gained.setdefault(event.at, []).append(event)
        for index in range(start, applied + 1):
            mine = tuple(reversed(gained.get(index, ())))
            found = self.derived.get(index)
            if found is None:
                self.derived[index] = (name, mine)
                continue
            first, theirs = found
            if theirs != mine:
                return (
                    f"{name} derived other events from log index {index} than {first} did: "
                    f"{_difference(mine, theirs)}"
                )
            self.agreed += 1
        self.compared[name] = (ring, applied)
        return None


def _difference(mine: tuple[Event, ...], theirs: tuple[Event, ...]) -> str:
    """The first event the two derivations differ in, as each has it."""
    for n in range(max(len(mine), len(theirs))):
        a = mine[n].body() if n < len(mine) else None
        b = theirs[n].body() if n < len(theirs) else None
        if a != b:
            return f"event {n}: {a or 'none'} against {b or 'none'}"
    # the bodies agree, the records do not (a detail that repeats a field's name)
    return f"{mine} against {theirs}"
