"""Pending jobs in exact scheduling order, and delayed jobs waiting for their time.

Order is (higher priority first, earlier due time, earlier submission). There
is one binary heap per job type, so a pool of workers that handles only some
types is served without wading through the others, and removal is lazy: a
removed job's heap entry stays until it surfaces, and the heaps are rebuilt
when stale entries outnumber live ones.

:meth:`ReadyQueue.peek_due` reads the first ``k`` jobs across several heaps
*without popping*: it walks each heap's array as the tree it is, best-first
from the roots with a small heap of candidates, which costs O(k log k) and
leaves the state machine untouched (the leader peeks, then proposes; only the
committed assignment removes a job).
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Container, Iterator, Mapping

__all__ = ["ReadyQueue"]

# (-priority, due, seq, job id)
Key = tuple[int, float, int, str]


class ReadyQueue:
    __slots__ = ("_delayed", "_depth", "_heaps", "_live", "_stale")

    def __init__(self) -> None:
        self._heaps: dict[str, list[Key]] = {}
        # job id -> (type, key) for every job in the ready order
        self._live: dict[str, tuple[str, Key]] = {}
        self._stale = 0
        # priority -> live jobs, kept so metrics never scan the queue
        self._depth: dict[int, int] = {}
        # (run_at, seq, job id, type, priority) for scheduled jobs
        self._delayed: list[tuple[float, int, str, str, int]] = []

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._live

    def push(self, job_id: str, job_type: str, priority: int, due: float, seq: int) -> None:
        key = (-priority, due, seq, job_id)
        old = self._live.get(job_id)
        if old is not None:
            self._count(old[1], -1)
        self._live[job_id] = (job_type, key)
        self._count(key, 1)
        heapq.heappush(self._heaps.setdefault(job_type, []), key)

    def remove(self, job_id: str) -> bool:
        entry = self._live.pop(job_id, None)
        if entry is None:
            return False
        self._count(entry[1], -1)
        self._stale += 1
        # jobs mostly leave from the front (they were scheduled): drop dead heads at once
        heap = self._heaps[entry[0]]
        live = self._live
        while heap and live.get(heap[0][3], (None, None))[1] != heap[0]:
            heapq.heappop(heap)
            self._stale = max(self._stale - 1, 0)
        if self._stale > 1024 and self._stale > len(self._live):
            self._rebuild()
        return True

    def delay(self, job_id: str, job_type: str, priority: int, run_at: float, seq: int) -> None:
        heapq.heappush(self._delayed, (run_at, seq, job_id, job_type, priority))

    def next_run_at(self) -> float | None:
        return self._delayed[0][0] if self._delayed else None

    def promote(self, now: float, is_scheduled: Container[str]) -> list[str]:
        """Move delayed jobs due by ``now`` into the ready order; returns their ids.

        ``is_scheduled`` says whether a delayed entry still stands (the job may
        have been cancelled meanwhile; its entry is then simply dropped).
        """
        moved = []
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            run_at, seq, job_id, job_type, priority = heapq.heappop(delayed)
            if job_id in is_scheduled:
                self.push(job_id, job_type, priority, run_at, seq)
                moved.append(job_id)
        return moved

    def peek_due(
        self,
        types: Collection[str],
        limit: int,
        skip: Container[str] = (),
        caps: Mapping[str, int] | None = None,
    ) -> list[str]:
        """The first ``limit`` jobs of ``types`` in scheduling order, leaving out ``skip``;
        at most ``caps[type]`` jobs of a type that has a cap (its heap is left as soon as
        the cap is reached, so a type limited to a few jobs costs a few steps)."""
        out: list[str] = []
        if limit <= 0:
            return out
        live = self._live
        seen: set[str] = set()
        left = dict(caps) if caps else None
        frontier: list[tuple[Key, int, list[Key], str]] = []
        for job_type in sorted(types):
            heap = self._heaps.get(job_type)
            if heap and (left is None or left.get(job_type, 1) > 0):
                frontier.append((heap[0], 0, heap, job_type))
        heapq.heapify(frontier)
        while frontier and len(out) < limit:
            key, pos, heap, job_type = heapq.heappop(frontier)
            if left is not None and left.get(job_type, 1) <= 0:
                continue  # the type's cap is reached: none of its heap below this entry
            job_id = key[3]
            current = live.get(job_id)
            # a job removed and pushed again with the same key has two entries: take one
            fresh = current is not None and current[1] == key and job_id not in seen
            if fresh and job_id not in skip:
                seen.add(job_id)
                out.append(job_id)
                if left is not None and job_type in left:
                    left[job_type] -= 1
            for child in (2 * pos + 1, 2 * pos + 2):
                if child < len(heap):
                    heapq.heappush(frontier, (heap[child], child, heap, job_type))
        return out

    def _count(self, key: Key, delta: int) -> None:
        priority = -key[0]
        left = self._depth.get(priority, 0) + delta
        if left:
            self._depth[priority] = left
        else:
            del self._depth[priority]

    def depth_by_priority(self) -> dict[int, int]:
        return dict(self._depth)

    def __iter__(self) -> Iterator[str]:
        return iter(self._live)

    def _rebuild(self) -> None:
        heaps: dict[str, list[Key]] = {}
        for job_type, key in self._live.values():
            heaps.setdefault(job_type, []).append(key)
        for heap in heaps.values():
            heapq.heapify(heap)
        self._heaps = heaps
        self._stale = 0
