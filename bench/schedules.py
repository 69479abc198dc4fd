"""Ticks fired against ticks due while the leader is SIGKILLed: ``python -m bench schedules``.

Starts a real cluster (3 masters, 1 worker, the launcher of the
multi-process tests) and defines three ``every_s: 1`` schedules of ``noop``
jobs, one for each ``catch_up`` (skip, one, all). For ``--seconds`` (60) it
SIGKILLs the leader ``--kills`` times (2), evenly spaced, and starts each
killed master again ``--down`` seconds later (3). Then it pauses the
schedules, reads every job they made, and reports for each schedule:

- ``expected``: the ticks (whole seconds) from its definition to its pause
  (to half a second before it: a tick the pause overtook is not counted);
- ``fired``: those ticks that made a job, and ``duplicates``: ticks that
  made more than one (the promise: none, ever);
- ``missed``: expected ticks that made no job, and how many of them fell
  outside the leaderless gaps (``missed_outside_gaps``: the promise is none).
  Within a gap, ``all`` still fires each tick once a leader is back, ``one``
  fires one job for the gap, ``skip`` only the latest tick if it is on time.

Each gap is measured from the SIGKILL to the first moment a new leader is
seen answering (``gaps_s``). With ``--outage S`` a follower is killed with
the leader and both stay down ``S`` seconds, so no majority is left and the
ticks of the outage are handled by ``catch_up`` once one is back.
``tests/cluster/test_schedule_cluster.py`` runs the same with a shorter run
and one kill.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster
from runtime.clock import system_wall_clock

__all__ = ["Outcome", "add_parser", "main", "run_once"]

CATCH_UPS = ("skip", "one", "all")
PAUSE_MARGIN_S = 0.5


@attrs.frozen
class Fired:
    """One schedule's ticks: what was due, what made a job, what made more than one."""

    catch_up: str
    expected: int
    fired: int
    duplicates: int
    missed: int
    missed_outside_gaps: int
    # those ticks (epoch seconds), to look up in the nodes' logs
    outside_gaps: list[float]


@attrs.frozen
class Outcome:
    seconds: float
    kills: int
    gaps_s: list[float]
    schedules: list[Fired]

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def run_once(
    root: Path,
    *,
    seconds: float = 60.0,
    kills: int = 2,
    down_s: float = 3.0,
    outage_s: float = 0.0,
) -> Outcome:
    """One cluster, ``kills`` leader kills over ``seconds``; see the module docstring."""
    with LoopbackCluster(
        root, masters=3, workers=1, capacity=8, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        for catch_up in CATCH_UPS:
            body = {"name": catch_up, "every_s": 1, "catch_up": catch_up, "job": {"type": "noop"}}
            made = cluster.post("/api/v1/schedules", body)
            if made.status_code != 201:
                raise RuntimeError(f"defining {catch_up}: {made.status_code} {made.text}")
        started = time.monotonic()
        gaps: list[tuple[float, float]] = []
        for n in range(kills):
            _sleep_until(started + seconds * (n + 1) / (kills + 1))
            gaps.append(_kill_the_leader(cluster, down_s, outage_s))
        _sleep_until(started + seconds)
        bounds = {c: _pause(cluster, c) for c in CATCH_UPS}
        ticks = _ticks(cluster)
        fired = [_count(c, bounds[c], ticks.get(c, Counter()), gaps) for c in CATCH_UPS]
        return Outcome(
            round(time.monotonic() - started, 1),
            kills,
            [round(end - start, 2) for start, end in gaps],
            fired,
        )


def _sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def _kill_the_leader(cluster: LoopbackCluster, down_s: float, outage_s: float) -> Window:
    """SIGKILL the leader (with ``outage_s``, a follower too, and both stay down that long:
    no majority); the gap (wall times) until a leader is seen; restart what was killed."""
    leader = cluster.wait_ready(30)
    victim = cluster.masters[leader]
    killed_at = system_wall_clock()
    victim.kill()
    if outage_s > 0:
        follower = next(m for name, m in sorted(cluster.masters.items()) if name != leader)
        follower.kill()
        time.sleep(outage_s)
        follower.start()
        victim.start()
    deadline = time.monotonic() + 30
    # after an outage both came back: the old leader may well be elected again
    while (now_leading := cluster.leader()) is None or (outage_s <= 0 and now_leading == leader):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no leader after {leader} was killed\n{cluster.describe()}")
        time.sleep(0.02)
    back_at = system_wall_clock()
    if outage_s <= 0:
        time.sleep(max(0.0, down_s - (back_at - killed_at)))
        victim.start()
    return killed_at, back_at


def _pause(cluster: LoopbackCluster, name: str) -> tuple[float, float]:
    """Pause a schedule: (when it was defined, when it was paused), in the log's time."""
    view = cluster.post(f"/api/v1/schedules/{name}/pause").json()
    return view["created_at"], view["updated_at"]


def _ticks(cluster: LoopbackCluster) -> dict[str, Counter[float]]:
    """Each schedule's jobs by tick, from every job the cluster holds, page by page."""
    out: dict[str, Counter[float]] = {}
    cursor = ""
    while True:
        page = cluster.get("/api/v1/jobs", type="noop", limit=1000, cursor=cursor).json()
        for job in page["jobs"]:
            if job["schedule"] is not None:
                out.setdefault(job["schedule"], Counter())[job["scheduled_for"]] += 1
        cursor = page["cursor"]
        if not cursor:
            return out


Window = tuple[float, float]


def _count(name: str, bounds: Window, ticks: Counter[float], gaps: Sequence[Window]) -> Fired:
    defined, paused = bounds
    # a tick just before the pause may lose to it (the leader fires up to 0.1 s late)
    expected = [float(t) for t in range(int(defined) + 1, int(paused - PAUSE_MARGIN_S) + 1)]
    missed = [t for t in expected if t not in ticks]
    # a tick may fall a moment before the kill and still be lost with its leader
    outside = [t for t in missed if not any(start - 1 <= t <= end + 1 for start, end in gaps)]
    return Fired(
        name,
        len(expected),
        sum(1 for t in expected if t in ticks),
        sum(1 for n in ticks.values() if n > 1),
        len(missed),
        len(outside),
        outside,
    )


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "schedules", help="every_s: 1 schedules while the leader is SIGKILLed: ticks fired"
    )
    p.add_argument("--seconds", type=float, default=60.0, help="how long the run lasts")
    p.add_argument("--kills", type=int, default=2, help="leader SIGKILLs, evenly spaced")
    p.add_argument("--down", dest="down_s", type=float, default=3.0,
                   help="seconds a killed master stays down")  # fmt: skip
    p.add_argument("--outage", dest="outage_s", type=float, default=0.0,
                   help="kill a follower with the leader, both down this long: no majority, "
                   "so ticks go unfired and catch_up decides")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print only a JSON object")


def main(args: argparse.Namespace) -> int:
    """Run once; 1 if a tick fired twice or a tick outside the gaps made no job."""
    with tempfile.TemporaryDirectory(prefix="podium-schedules-") as tmp:
        outcome = run_once(
            Path(tmp),
            seconds=args.seconds,
            kills=args.kills,
            down_s=args.down_s,
            outage_s=args.outage_s,
        )
    if args.json:
        print(json.dumps(outcome.as_dict()))
    else:
        gaps = ", ".join(f"{g:.2f}" for g in outcome.gaps_s)
        print(f"{outcome.seconds:g} s, {outcome.kills} leader kills (leaderless: {gaps} s)")
        for f in outcome.schedules:
            print(
                f"  catch_up {f.catch_up}: {f.fired} of {f.expected} ticks fired, "
                f"{f.duplicates} twice, {f.missed} missed ({f.missed_outside_gaps} outside "
                "the leaderless gaps)"
            )
    bad = any(f.duplicates or f.missed_outside_gaps for f in outcome.schedules)
    return 1 if bad else 0
