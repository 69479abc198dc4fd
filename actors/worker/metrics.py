"""The worker's Prometheus metrics: how long a freed slot waits for its next job.

A slot is freed when a job in it finishes; it is taken again when the next
assignment starts there. The time between the two is the dispatch latency a
worker actually sees (report, commit, assignment, delivery), which the
masters' own timestamps cannot show: they stop at the leader. Slots are
interchangeable, so the oldest freed slot is the one the next job takes.
While no work waits, a freed slot stays free for as long as the queue is
empty, so read this under a backlog (as ``python -m bench cluster`` does).
"""

from __future__ import annotations

from collections import deque

from prometheus_client import CollectorRegistry, Histogram

__all__ = ["TURNAROUND_BUCKETS", "SlotTurnaround", "WorkerMetrics"]

TURNAROUND_BUCKETS = (
    0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01,
    0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
)  # fmt: skip


class SlotTurnaround:
    """Pairs each job start with the oldest slot freed before it (no clock of its own)."""

    def __init__(self, capacity: int) -> None:
        self.freed: deque[float] = deque(maxlen=capacity)

    def job_finished(self, now: float) -> None:
        self.freed.append(now)

    def job_started(self, now: float) -> float | None:
        """The time the slot this job takes had been free, if it was freed before."""
        if not self.freed:
            return None
        return now - self.freed.popleft()


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.slot_turnaround = Histogram(
            "podium_worker_slot_turnaround_seconds",
            "From a job finishing on a worker to the next job starting in its slot",
            buckets=TURNAROUND_BUCKETS,
            registry=registry,
        )
