"""The measured rate of a limited job type on a dev node (``python -m bench limits``).

One ``python -m runtime.node`` dev node (a master with fsync and its own
worker), started by the loopback launcher. The type is limited to ``rate``
starts a second with bursts of ``burst`` (``PUT /api/v1/limits/{type}``),
and enough of its jobs to keep the limit busy past the window are submitted
at once. Once every job is final, the jobs' own ``started_at`` (the log time
of each assignment) say how many started in the ``seconds`` from the first
start: with a full bucket at the start that is ``burst + rate * seconds`` at
most, so the rate measured over the window is a little above ``rate``, and
``after_burst_per_s`` takes the burst out. ``max_in_1s`` is the most starts
in any one second, and ``bound_held`` whether every window of the run stayed
within ``rate * window + burst``.
"""

from __future__ import annotations

import bisect
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from bench.loopback import LoopbackCluster
from client import Client
from client.api import job_body

__all__ = ["LimitsOptions", "run_limits"]

BATCH = 1_000


@attrs.frozen
class LimitsOptions:
    rate: float = 50.0
    # default: a second's worth of the rate
    burst: float | None = None
    seconds: float = 30.0
    type: str = "noop"
    data: Path | None = None


def bound_held(starts: Sequence[float], rate: float, burst: float) -> bool:
    """Whether every window [starts[i], starts[j]] of the sorted ``starts`` holds at most
    ``rate * window + burst`` of them. In one pass: the window ending at j is worst when
    it begins at the i <= j with the largest ``rate * starts[i] - i``."""
    best = -math.inf
    for j, at in enumerate(starts):
        best = max(best, rate * at - j)
        if (j + 1 - rate * at) + best > burst + 1e-6:
            return False
    return True


def _max_in(starts: list[float], window: float) -> int:
    return max(bisect.bisect_left(starts, s + window) - i for i, s in enumerate(starts))


def run_limits(options: LimitsOptions, show: Callable[[str], None]) -> dict[str, Any]:
    root = options.data or Path(tempfile.mkdtemp(prefix="podium-bench-limits-"))
    try:
        with LoopbackCluster(root, single=True) as cluster:
            show("starting a dev node")
            cluster.start(timeout=60)
            url = cluster.masters["m1"].http
            assert url is not None
            with Client(url) as client:
                limit = client.set_limit(options.type, rate_per_s=options.rate, burst=options.burst)
                # the burst the server settled on (its default when none was asked for)
                burst = float(limit["burst"])
                # enough to keep the bucket empty for two seconds past the window
                count = math.ceil(burst + options.rate * (options.seconds + 2))
                show(f"submitting {count} {options.type} jobs")
                ids: list[str] = []
                for n in range(0, count, BATCH):
                    batch = [job_body(options.type) for _ in range(min(BATCH, count - n))]
                    ids += [job["id"] for job in client.submit_batch(batch)]
                show(f"waiting: {options.type} limited to {options.rate:g}/s")
                began = time.monotonic()
                final = client.wait(ids, timeout=options.seconds * 3 + 60)
                waited = time.monotonic() - began
                client.clear_limit(options.type)
    finally:
        if options.data is None:
            shutil.rmtree(root, ignore_errors=True)
    starts = sorted(job["started_at"] for job in final.values())
    first = starts[0]
    started = bisect.bisect_left(starts, first + options.seconds)
    return {
        "type": options.type,
        "rate_per_s": options.rate,
        "burst": burst,
        "seconds": options.seconds,
        "jobs": count,
        "started_in_window": started,
        "measured_per_s": round(started / options.seconds, 2),
        "after_burst_per_s": round((started - burst) / options.seconds, 2),
        "max_in_1s": _max_in(starts, 1.0),
        "bound_held": bound_held(starts, options.rate, burst),
        "succeeded": sum(job["status"] == "succeeded" for job in final.values()),
        "wall_s": round(waited, 2),
    }
