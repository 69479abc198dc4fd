"""The leader's soft state of job progress: the latest value each running attempt reported.

Like leases, progress is not replicated: it arrives with worker heartbeats
and only the latest value counts, so it is kept in the leader's memory and
lost with its leadership (the next heartbeat, at most ``heartbeat_s`` later,
brings it to the new leader). An entry lives as long as its attempt runs:
the master drops it when the job finishes or is retried, so memory follows
running jobs, never history.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressTable"]

# (attempt, fraction, message)
Entry = tuple[int, float, str]


class ProgressTable:
    def __init__(self) -> None:
        self.latest: dict[str, Entry] = {}

    def update(self, job_id: str, attempt: int, fraction: float, message: str) -> bool:
        """Keep the value; True when it differs from what was kept (an event is due)."""
        entry = (attempt, fraction, message)
        if self.latest.get(job_id) == entry:
            return False
        self.latest[job_id] = entry
        return True

    def of(self, job_id: str, attempt: int) -> tuple[float, str] | None:
        """(fraction, message) reported by ``attempt`` of the job, if any."""
        entry = self.latest.get(job_id)
        if entry is None or entry[0] != attempt:
            return None
        return entry[1], entry[2]

    def drop(self, job_id: str) -> None:
        self.latest.pop(job_id, None)

    def keep_only(self, running: Callable[[str, int], bool]) -> None:
        """Drop the entries of attempts no longer ``running`` (job id, attempt): a job
        that ended without an event saying so (its record not kept) leaves no entry."""
        for job_id in [j for j, entry in self.latest.items() if not running(j, entry[0])]:
            del self.latest[job_id]

    def clear(self) -> None:
        self.latest.clear()
