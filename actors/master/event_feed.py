"""The master's events: the ring it fills as entries apply, and the soft events it makes.

The master actor calls :meth:`EventFeed.before` and :meth:`EventFeed.after`
around each apply (a capture, a derivation and a deque append: the cost of
events when nobody listens), and tells it about heartbeats' progress, workers
draining and leader changes. Derivation is :mod:`actors.master.events`, the
ring :mod:`actors.master.event_ring`, progress :mod:`actors.master.progress`;
this class only joins them. No I/O and no clock: times are passed in.
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from actors.master.event_ring import EventRing
from actors.master.events import (
    DEAD,
    FINISHED,
    LEADER_CHANGED,
    PROGRESS,
    RETRIED,
    WORKER_DRAINING,
    Before,
    capture,
    derive,
    owner_of,
)
from actors.master.progress import ProgressTable
from actors.scheduler.state import JobStateMachine
from transport.codec import Message
from transport.progress import JobProgress

__all__ = ["EventFeed", "EventsOf", "OpenEvents"]

# events after which a job's progress is over (a retried job starts again from none)
_PROGRESS_ENDS = frozenset({FINISHED, DEAD, RETRIED})


@frozen
class OpenEvents(Message):
    """Local only: the gateway asks its master for the event ring it serves from."""


@frozen
class EventsOf(Message):
    """Local only: the answer to :class:`OpenEvents`."""

    feed: EventFeed


class EventFeed:
    def __init__(self, retained: int) -> None:
        self.ring = EventRing(retained)
        self.progress = ProgressTable()

    # -- log events --------------------------------------------------------------------

    def before(self, table: JobStateMachine, cmd: Message) -> Before:
        return capture(table, cmd)

    def after(
        self,
        index: int,
        cmd: Message,
        result: Message | None,
        table: JobStateMachine,
        before: Before,
    ) -> None:
        # the shell takes the jobs that left after every apply: these left in this one
        events = derive(index, cmd, result, table, before, table.finished)
        self.ring.applied_entry(index, events)
        progress = self.progress
        if progress.latest:
            for event in events:
                if event.job is not None and event.type in _PROGRESS_ENDS:
                    progress.drop(event.job)

    # -- soft events -------------------------------------------------------------------

    def progressed(
        self,
        notes: tuple[JobProgress, ...],
        now: float,
        table: JobStateMachine,
        worker: str | None = None,
    ) -> list[JobProgress]:
        """Keep what running attempts reported; the notes that changed (each an event).
        A note of an attempt that is no longer running here (a follower may apply its end
        before the leader's news arrives) is dropped. What ended attempts left goes with
        the event of their end (:meth:`after`), so this costs the notes, not every entry
        kept. With ``worker`` (a heartbeat's sender), only its own runs count."""
        changed = [
            note
            for note in notes
            if table.is_current(note.job_id, note.attempt, worker)
            and self.progress.update(note.job_id, note.attempt, note.fraction, note.message)
        ]
        for note in changed:
            job = table.job(note.job_id)
            self.ring.add_soft(
                PROGRESS,
                now,
                job=note.job_id,
                attempt=note.attempt,
                job_type=job.type if job is not None else None,
                owner=owner_of(job) if job is not None else None,
                detail={"progress": note.fraction, "progress_message": note.message},
            )
        return changed

    def restarted(self, index: int, table: JobStateMachine) -> None:
        """The table was replaced by a snapshot at ``index``: the ring starts over there,
        and only attempts running in the new table keep their progress (the ends of the
        others were in entries this master never applied)."""
        self.ring.restarted_at(index)
        self.progress.keep_only(_running_in(table))

    def draining(self, worker: str, now: float) -> None:
        self.ring.add_soft(WORKER_DRAINING, now, worker=worker)

    def leader_changed(self, leader: str, term: int, now: float) -> None:
        self.ring.add_soft(LEADER_CHANGED, now, detail={"leader": leader, "term": term})

    def progress_view(self, job_id: str, attempt: int) -> dict[str, object]:
        """The ``progress`` and ``progress_message`` fields of a job's view."""
        found = self.progress.of(job_id, attempt)
        if found is None:
            return {"progress": None, "progress_message": None}
        return {"progress": found[0], "progress_message": found[1]}


def _running_in(table: JobStateMachine) -> Callable[[str, int], bool]:
    def running(job_id: str, attempt: int) -> bool:
        return table.is_current(job_id, attempt, None)

    return running
