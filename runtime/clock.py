"""Wall-clock time for the replicated state: the one place that reads the real clock.

Timers and timeouts use ``trio.current_time()``, but that clock is per
process (trio even adds a random offset), so a timestamp that goes into the
Raft log and must mean the same on every master (``created_at``, ``run_at``,
a lease deadline) comes from a wall clock instead. Production uses the system
clock; the simulator passes :func:`sim_wall_clock`, which follows trio's mock
clock, so a simulated run still reads no real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio

WallClock = Callable[[], float]

# 2026-01-01T00:00:00Z: where simulated wall time starts
SIM_EPOCH = 1_767_225_600.0


def system_wall_clock() -> float:
    return time.time()  # noqa: TID251 - the single sanctioned read of the real clock


def sim_wall_clock() -> float:
    return SIM_EPOCH + trio.current_time()
