"""Per-type limits and pauses, as the replicated table keeps them: no clock, no I/O.

A rate limit is a token bucket: ``burst`` tokens at most, refilled at
``rate_per_s``; each assignment of the type takes one. The bucket lives in
the replicated state and is refilled from the log's own clock (the ``now`` of
the command being applied) and drained when an assignment applies, so every
master holds the same bucket and a new leader starts from the one its
predecessor left. Whatever the leaders do, the assignments of a type in any
window of log time are at most ``rate_per_s * window + burst``: that is the
token bucket's arrival curve. ``max_running`` caps the type's running jobs
across the cluster. A paused type starts nothing.

The table enforces both when an assignment applies (:meth:`TypeControl.admit`):
an assignment over the limit is refused there, deterministically on every
master, so neither a deposed leader's late proposals nor a new leader's
first plans can take more than the bucket holds. The leader's dispatcher
asks :meth:`TypeControl.room` first and plans within it, so in the normal
case nothing is refused. Only :meth:`admit` changes a bucket; everything
else reads it as refilled to a given time without writing, because the
order of floating-point refills must be the log's on every master.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["Limit", "TypeControl", "default_burst"]


def default_burst(rate_per_s: float) -> float:
    """A second's worth of tokens, and at least one (a job takes a whole token)."""
    return max(1.0, rate_per_s)


@attrs.frozen
class Limit:
    rate_per_s: float | None = None
    burst: float | None = None
    max_running: int | None = None


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


def _refilled(bucket: _Bucket, limit: Limit, now: float) -> float:
    assert limit.rate_per_s is not None and limit.burst is not None
    if now <= bucket.at:
        return bucket.tokens
    return min(limit.burst, bucket.tokens + limit.rate_per_s * (now - bucket.at))


class TypeControl:
    """The limits and pauses of job types (a few types, never a job each)."""

    __slots__ = ("buckets", "limits", "paused")

    def __init__(self) -> None:
        self.limits: dict[str, Limit] = {}
        self.buckets: dict[str, _Bucket] = {}
        self.paused: set[str] = set()

    @property
    def active(self) -> bool:
        """Whether any type is limited or paused (the hot path asks nothing else otherwise)."""
        return bool(self.limits or self.paused)

    def governs(self, job_type: str) -> bool:
        """Whether ``job_type`` has a limit or is paused."""
        return job_type in self.limits or job_type in self.paused

    def types(self) -> list[str]:
        """Every type with a limit or a pause, sorted."""
        return sorted(self.limits.keys() | self.paused)

    # -- changes (applied commands) -------------------------------------------------------

    def set(self, job_type: str, limit: Limit, now: float) -> None:
        """Replace ``job_type``'s limit. A new bucket starts full; one the type already had
        keeps its tokens (capped at the new burst), so setting the same limit again, or
        changing it, never hands out a fresh burst."""
        if limit.rate_per_s is not None and limit.burst is None:
            limit = attrs.evolve(limit, burst=default_burst(limit.rate_per_s))
        old_limit = self.limits.get(job_type)
        old = self.buckets.pop(job_type, None)
        self.limits[job_type] = limit
        if limit.rate_per_s is None or limit.burst is None:
            return
        if old is None or old_limit is None or old_limit.rate_per_s is None:
            self.buckets[job_type] = _Bucket(limit.burst, now)
            return
        tokens = _refilled(old, old_limit, now)
        self.buckets[job_type] = _Bucket(min(tokens, limit.burst), max(now, old.at))

    def clear(self, job_type: str) -> bool:
        """Remove ``job_type``'s limit; False when it had none."""
        self.buckets.pop(job_type, None)
        return self.limits.pop(job_type, None) is not None

    def pause(self, job_type: str, paused: bool) -> None:
        if paused:
            self.paused.add(job_type)
        else:
            self.paused.discard(job_type)

    def admit(self, job_type: str, now: float, running: int) -> bool:
        """Whether one more job of ``job_type`` may start now, with ``running`` of them
        running; if so, its token is taken. Called as an assignment applies."""
        if job_type in self.paused:
            return False
        limit = self.limits.get(job_type)
        if limit is None:
            return True
        if limit.max_running is not None and running >= limit.max_running:
            return False
        bucket = self.buckets.get(job_type)
        if bucket is None:
            return True
        tokens = _refilled(bucket, limit, now)
        if tokens < 1.0:
            return False
        bucket.tokens = tokens - 1.0
        bucket.at = max(now, bucket.at)
        return True

    # -- reading ---------------------------------------------------------------------------

    def tokens(self, job_type: str, now: float) -> float | None:
        """The tokens ``job_type``'s bucket would hold at ``now`` (None: no rate limit)."""
        bucket = self.buckets.get(job_type)
        limit = self.limits.get(job_type)
        if bucket is None or limit is None:
            return None
        return _refilled(bucket, limit, now)

    def room(self, job_type: str, now: float, running: int, in_flight: int = 0) -> int | None:
        """How many more jobs of ``job_type`` may start at ``now`` with ``running`` running
        and ``in_flight`` already on their way to start (each will take a token and a
        running slot); None: no limit; 0 while paused or throttled."""
        if job_type in self.paused:
            return 0
        limit = self.limits.get(job_type)
        if limit is None:
            return None
        room: int | None = None
        if limit.max_running is not None:
            room = limit.max_running - running - in_flight
        tokens = self.tokens(job_type, now)
        if tokens is not None:
            whole = math.floor(tokens) - in_flight
            room = whole if room is None else min(room, whole)
        return max(room, 0) if room is not None else None

    # -- the snapshot ----------------------------------------------------------------------

    def rows(self) -> list[list[object]]:
        """The whole state as plain rows, one per type, sorted."""
        out: list[list[object]] = []
        for job_type in self.types():
            limit = self.limits.get(job_type)
            bucket = self.buckets.get(job_type)
            out.append(
                [
                    job_type,
                    None if limit is None else [limit.rate_per_s, limit.burst, limit.max_running],
                    None if bucket is None else [bucket.tokens, bucket.at],
                    job_type in self.paused,
                ]
            )
        return out

    def restore(self, rows: list[list[object]]) -> None:
        """Replace the state with :meth:`rows` of a snapshot."""
        self.limits.clear()
        self.buckets.clear()
        self.paused.clear()
        for job_type, limit, bucket, paused in rows:
            assert isinstance(job_type, str)
            if isinstance(limit, list):
                rate, burst, max_running = limit
                self.limits[job_type] = Limit(rate, burst, max_running)
            if isinstance(bucket, list):
                tokens, at = bucket
                self.buckets[job_type] = _Bucket(tokens, at)
            if paused:
                self.paused.add(job_type)
