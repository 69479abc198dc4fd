"""Which worker gets the next job: five policies over one credit-keeping pool.

A worker offers ``capacity`` slots; the pool holds one credit per free slot,
and ``choose`` takes a credit from the worker it picks, so the leader never
pushes a worker more jobs than it can start (no blind prefetch that leaves
other workers idle while one hoards a queue). Only workers that handle the
job's type are eligible, so every policy keeps its structure per job type;
a worker with no free slot is not in any of them.

- ``round_robin`` keeps an ordered ring per type (O(1));
- ``least_loaded``, ``capacity_aware`` and ``lru`` keep a heap per type keyed
  by load, share of free slots or last use, with lazy invalidation (O(log workers));
- ``random`` keeps an indexable set per type and draws from the rng it is given.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Collection
from random import Random

__all__ = ["POLICIES", "WorkerPool", "make_pool"]


class WorkerPool:
    """Credits and eligibility; subclasses decide the order among eligible workers."""

    def __init__(self) -> None:
        self.capacity: dict[str, int] = {}
        self.free: dict[str, int] = {}
        self.types: dict[str, tuple[str, ...]] = {}
        self.order: dict[str, int] = {}
        self._registered = 0

    def __contains__(self, worker: object) -> bool:
        return worker in self.capacity

    def __len__(self) -> int:
        return len(self.capacity)

    def add(
        self, worker: str, capacity: int, types: Collection[str], free: int | None = None
    ) -> None:
        if worker in self.capacity:
            self.remove(worker)
        self._registered += 1
        self.order[worker] = self._registered
        self.capacity[worker] = capacity
        self.types[worker] = tuple(sorted(types))
        self.free[worker] = 0
        self.set_free(worker, capacity if free is None else free)

    def remove(self, worker: str) -> None:
        if worker not in self.capacity:
            return
        if self.free[worker] > 0:
            self._leave(worker)
        for table in (self.capacity, self.free, self.types, self.order):
            del table[worker]

    def set_free(self, worker: str, free: int) -> None:
        before = self.free[worker]
        self.free[worker] = free
        if before > 0 and free <= 0:
            self._leave(worker)
        elif free > 0:
            self._update(worker, joined=before <= 0)

    def choose(self, job_type: str) -> str | None:
        worker = self._pick(job_type)
        if worker is not None:
            self._chosen(worker)
            self.set_free(worker, self.free[worker] - 1)
        return worker

    def release(self, worker: str) -> None:
        if worker in self.free:
            self.set_free(worker, min(self.free[worker] + 1, self.capacity[worker]))

    def free_slots(self, job_type: str | None = None) -> int:
        return sum(
            f
            for w, f in self.free.items()
            if f > 0 and (job_type is None or job_type in self.types[w])
        )

    def handled_types(self) -> frozenset[str]:
        return frozenset(t for w, f in self.free.items() if f > 0 for t in self.types[w])

    # -- what a policy implements ---------------------------------------------------

    def _pick(self, job_type: str) -> str | None:
        raise NotImplementedError

    def _update(self, worker: str, *, joined: bool) -> None:
        """``worker`` has free slots (``joined``: it had none before)."""

    def _leave(self, worker: str) -> None:
        """``worker`` has no free slot any more (or is removed)."""

    def _chosen(self, worker: str) -> None:
        """``worker`` was just picked."""


class _Ring(WorkerPool):
    """An ordered ring per type: the head is picked and moved to the back."""

    def __init__(self) -> None:
        super().__init__()
        self.rings: dict[str, OrderedDict[str, None]] = {}

    def _pick(self, job_type: str) -> str | None:
        ring = self.rings.get(job_type)
        return next(iter(ring)) if ring else None

    def _update(self, worker: str, *, joined: bool) -> None:
        if joined:
            for t in self.types[worker]:
                self.rings.setdefault(t, OrderedDict())[worker] = None

    def _leave(self, worker: str) -> None:
        for t in self.types[worker]:
            self.rings[t].pop(worker, None)

    def _chosen(self, worker: str) -> None:
        for t in self.types[worker]:
            ring = self.rings[t]
            if worker in ring:
                ring.move_to_end(worker)


class RoundRobin(_Ring):
    """In turn; a worker that fills up and frees again rejoins at the back."""


class _Heap(WorkerPool):
    """A heap per type keyed by ``_key``; an entry is valid while its version is current."""

    def __init__(self) -> None:
        super().__init__()
        self.heaps: dict[str, list[tuple[tuple[float, int], int, str]]] = {}
        self.version: dict[str, int] = {}
        self.versions = 0

    def _key(self, worker: str) -> tuple[float, int]:
        raise NotImplementedError

    def _pick(self, job_type: str) -> str | None:
        heap = self.heaps.get(job_type)
        while heap:
            _, version, worker = heap[0]
            if self.version.get(worker) == version:
                return worker
            heapq.heappop(heap)
        return None

    def _update(self, worker: str, *, joined: bool) -> None:
        self.versions += 1
        self.version[worker] = self.versions
        entry = (self._key(worker), self.versions, worker)
        for t in self.types[worker]:
            heap = self.heaps.setdefault(t, [])
            heapq.heappush(heap, entry)
            if len(heap) > 4 * len(self.capacity) + 64:
                self._compact(t)

    def _leave(self, worker: str) -> None:
        self.version.pop(worker, None)

    def _compact(self, job_type: str) -> None:
        live = [e for e in self.heaps[job_type] if self.version.get(e[2]) == e[1]]
        heapq.heapify(live)
        self.heaps[job_type] = live


class LeastLoaded(_Heap):
    """The fewest running jobs; ties go to the earliest registered."""

    def _key(self, worker: str) -> tuple[float, int]:
        return (self.capacity[worker] - self.free[worker], self.order[worker])


class LeastRecentlyUsed(_Heap):
    """The worker picked longest ago (never picked: earliest registered first)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_used: dict[str, int] = {}
        self.clock = 0

    def _key(self, worker: str) -> tuple[float, int]:
        return (self.last_used.get(worker, 0), self.order[worker])

    def _chosen(self, worker: str) -> None:
        self.clock += 1
        self.last_used[worker] = self.clock

    def remove(self, worker: str) -> None:
        super().remove(worker)
        self.last_used.pop(worker, None)


class CapacityAware(_Heap):
    """The largest share of free slots, so big workers take proportionally more."""

    def _key(self, worker: str) -> tuple[float, int]:
        return (-self.free[worker] / self.capacity[worker], self.order[worker])


class RandomChoice(WorkerPool):
    """Uniform among eligible workers, from the rng the runtime hands in (seeded in the sim)."""

    def __init__(self, rng: Random) -> None:
        super().__init__()
        self.rng = rng
        self.members: dict[str, list[str]] = {}
        self.positions: dict[str, dict[str, int]] = {}

    def _pick(self, job_type: str) -> str | None:
        members = self.members.get(job_type)
        return members[self.rng.randrange(len(members))] if members else None

    def _update(self, worker: str, *, joined: bool) -> None:
        if joined:
            for t in self.types[worker]:
                members = self.members.setdefault(t, [])
                self.positions.setdefault(t, {})[worker] = len(members)
                members.append(worker)

    def _leave(self, worker: str) -> None:
        for t in self.types[worker]:
            members, positions = self.members[t], self.positions[t]
            pos = positions.pop(worker)
            last = members.pop()
            if last != worker:
                members[pos] = last
                positions[last] = pos


POLICIES = ("round_robin", "least_loaded", "capacity_aware", "random", "lru")


def make_pool(policy: str, rng: Random) -> WorkerPool:
    if policy == "round_robin":
        return RoundRobin()
    if policy == "least_loaded":
        return LeastLoaded()
    if policy == "capacity_aware":
        return CapacityAware()
    if policy == "random":
        return RandomChoice(rng)
    if policy == "lru":
        return LeastRecentlyUsed()
    raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
