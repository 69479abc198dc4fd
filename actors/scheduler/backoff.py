"""Retry delays: exponential, capped, with jitter drawn by the leader and carried in the log."""

from __future__ import annotations

import attrs

__all__ = ["Backoff"]


@attrs.frozen
class Backoff:
    base_s: float = 1.0
    multiplier: float = 2.0
    cap_s: float = 300.0
    # the share of the delay that jitter may take away (0: none, 1: "full jitter")
    jitter: float = 0.5

    def delay(self, attempt: int, draw: float) -> float:
        """The wait before the run after ``attempt`` (1 = first run); ``draw`` is in [0, 1).

        Jitter subtracts up to ``jitter`` of the capped exponential delay, so
        retries of jobs that failed together spread out instead of returning
        in a thundering herd, and the delay never exceeds the cap.
        """
        exponent = max(attempt - 1, 0)
        raw = (
            self.cap_s
            if exponent > 64
            else min(self.cap_s, self.base_s * self.multiplier**exponent)
        )
        return raw * (1.0 - self.jitter * draw)
