"""A job table and its event feed, applying commands as a master does, with the commands
and the event summaries the event tests build."""

from __future__ import annotations

import msgpack

from actors.master.event_feed import EventFeed
from actors.master.events import Event
from actors.scheduler.backoff import Backoff
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from transport.codec import Message
from transport.commands import NewJob, RegisterWorkerCmd, ReportCmd, ReportItem
from transport.job_options import JobOptions


class Applied:
    """A job table and its event feed, applying commands at indexes 1, 2, ..."""

    def __init__(self) -> None:
        self.table = JobStateMachine(Backoff(base_s=1.0, jitter=0.0))
        self.feed = EventFeed(1000)
        self.index = 0
        self.left: list[tuple[int, Job]] = []

    def apply(self, cmd: Message) -> list[Event]:
        self.index += 1
        seen = len(self.feed.ring.events)
        before = self.feed.before(self.table, cmd)
        result = self.table.apply_decoded(self.index, cmd)
        self.feed.after(self.index, cmd, result, self.table, before)
        self.left = self.table.take_finished()
        return list(self.feed.ring.events)[seen:]


def new(job_id: str, retries: int = 1, options: JobOptions | None = None) -> NewJob:
    return NewJob(job_id, "noop", msgpack.packb({}), 5, retries, None, None, None, options)


def report(job_id: str, attempt: int, ok: bool, now: float, worker: str = "w1") -> ReportCmd:
    item = ReportItem(job_id, attempt, ok, b"", "" if ok else "boom\ntrace", False, 0.5)
    return ReportCmd(now, worker, (item,))


def kinds(events: list[Event]) -> list[tuple[str, str | None, str | None]]:
    return [(e.type, e.job, e.status) for e in events]


def started_node() -> Applied:
    node = Applied()
    node.apply(RegisterWorkerCmd(0.0, "w1", 2, ("noop",)))
    return node
