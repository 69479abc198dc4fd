"""How long writes stall when the leader dies or freezes, with every write sent to followers.

``python -m bench.failover --runs 10`` starts a real cluster (3 masters, 2
workers, the launcher of the multi-process tests) for each run, keeps
``--writers`` threads submitting one job per request through the masters that
are *not* the leader, then SIGKILLs the leader (``--fault kill``) or SIGSTOPs
it for ``--pause`` seconds (``--fault pause``, then SIGCONT). Half the writes
carry an idempotency key. For each run it reports:

- ``worst_wait_s``: the longest any write waited for its answer among those
  in flight at the fault or sent after it (the promise: under 2 s);
- ``resumed_s``: from the fault to the first write acknowledged that was sent
  after it;
- what the writes were answered (201; 200 for a keyed write whose earlier send,
  moved by the gateway to the new leader, made the job; or 503 "may still
  apply"), and whether
  the cluster holds more jobs than writes that may have applied (a duplicate);
- for a pause, writes sent to the leader itself as it freezes and just after:
  each must be answered once it resumes (``frozen_waits_s``, from SIGCONT).

``tests/cluster/test_failover_cluster.py`` runs the same load once per fault.
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster

__all__ = ["FollowerWriters", "Write", "run_once"]

# each writer's pause between requests: a steady stream that leaves the two cores to
# the cluster (about 100 writes/s per writer when answers are quick)
PACE_S = 0.01
# writers sending to the leader itself as it freezes
FROZEN_WRITES = 3


@attrs.define
class Write:
    master: str
    key: str | None
    sent: float
    answered: float = 0.0
    status: int = 0
    error: str = ""
    retry_after: str | None = None
    job_id: str | None = None

    @property
    def waited(self) -> float:
        return self.answered - self.sent


class FollowerWriters:
    """Threads that submit one job per request, round-robin over ``masters``' HTTP ports."""

    def __init__(
        self, cluster: LoopbackCluster, masters: Sequence[str], *, threads: int = 4, name: str
    ) -> None:
        """``name`` starts every idempotency key these writers use."""
        self.name = name
        self.cluster = cluster
        self.masters = list(masters)
        self.threads = threads
        self.writes: list[Write] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> FollowerWriters:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for thread in self._workers:
            thread.join(timeout=30)

    def stop(self) -> None:
        """Send nothing new; what is in flight still gets its answer recorded."""
        self._stop.set()

    def _run(self, n: int) -> None:
        with httpx.Client(timeout=30.0) as client:
            for turn in itertools.count(n):
                if self._stop.is_set():
                    return
                master = self.masters[turn % len(self.masters)]
                serial = next(self._ids)
                key = f"{self.name}-{serial}" if serial % 2 == 0 else None
                body: dict[str, Any] = {"type": "noop"}
                if key is not None:
                    body["idempotency_key"] = key
                write = Write(master, key, time.monotonic())
                try:
                    answer = client.post(
                        f"{self.cluster.masters[master].http}/api/v1/jobs", json=body
                    )
                    write.status = answer.status_code
                    write.retry_after = answer.headers.get("retry-after")
                    data = answer.json()
                    write.job_id = data.get("id")
                    write.error = data.get("error", "")
                except (httpx.TransportError, ValueError) as exc:
                    write.error = f"{type(exc).__name__}: {exc}"
                    time.sleep(0.05)  # that master is down: do not spin on it
                write.answered = time.monotonic()
                with self._lock:
                    self.writes.append(write)
                time.sleep(PACE_S)


@attrs.frozen
class Outcome:
    fault: str
    worst_wait_s: float
    resumed_s: float
    answers: dict[str, int]
    acked: int
    in_doubt: int
    jobs: int
    bad: list[str]
    frozen_waits_s: list[float] = attrs.Factory(list)

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


# a write the cluster took: made now (201), or its key's job made by an earlier send of
# the same write that the gateway moved to the new leader (200)
ACKED = ("201", "200")
ANSWERS = (*ACKED, "503 may still apply")


def _kind(write: Write) -> str:
    if write.status in (200, 201):
        return str(write.status)
    if write.status == 503 and "may still apply" in write.error and write.retry_after:
        return "503 may still apply"
    return f"{write.status} {write.error[:80]}"


def run_once(
    root: Path, fault: str, *, pause_s: float = 3.0, after_s: float = 3.0, threads: int = 4
) -> Outcome:
    """One cluster, one fault under follower-only writes; see the module docstring."""
    with LoopbackCluster(
        root, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        leader = cluster.wait_ready(30)
        followers = [m for m in cluster.masters if m != leader]
        victim = cluster.masters[leader]
        assert victim.proc is not None
        frozen = FollowerWriters(cluster, [leader], threads=FROZEN_WRITES, name="to-leader")
        resumed_at = 0.0
        with FollowerWriters(cluster, followers, threads=threads, name="via-followers") as load:
            time.sleep(1.0)
            if fault == "kill":
                at = time.monotonic()
                victim.kill()
                time.sleep(after_s)
            else:
                with frozen:
                    # these keep writing to the leader itself, as it freezes and after
                    # (each then waits on its one write to the frozen process); their
                    # answers come once it resumes
                    time.sleep(0.2)
                    at = time.monotonic()
                    victim.proc.send_signal(signal.SIGSTOP)
                    time.sleep(0.2)
                    frozen.stop()
                    time.sleep(pause_s - 0.2)
                    resumed_at = time.monotonic()
                    victim.proc.send_signal(signal.SIGCONT)
                time.sleep(after_s)
        writes = sorted(load.writes, key=lambda w: w.sent)
        # (a write answered between the signal and the freeze taking hold is not one)
        late = [w for w in frozen.writes if resumed_at and w.answered >= resumed_at]
        frozen_waits = sorted(w.answered - resumed_at for w in late)
        around = [w for w in writes if w.answered >= at]
        resumed = min(
            (w.answered - at for w in around if w.sent >= at and w.status in (200, 201)),
            default=float("inf"),
        )
        answers = Counter(_kind(w) for w in writes)
        bad = sorted(k for k in answers if k not in ANSWERS)
        acked = sum(answers.get(kind, 0) for kind in ACKED)
        in_doubt = answers.get("503 may still apply", 0)
        jobs = _jobs_in(cluster, acked)
        duplicates = _keyed_twice(cluster, around)
        if duplicates:
            bad.append(f"keys answered with another job when sent again: {duplicates}")
        frozen_answers = Counter(_kind(w) for w in frozen.writes)
        acked += sum(frozen_answers.get(kind, 0) for kind in ACKED)
        in_doubt += frozen_answers.get("503 may still apply", 0)
        bad += sorted(k for k in frozen_answers if k not in ANSWERS)
        if not acked <= jobs <= acked + in_doubt:
            bad.append(f"{jobs} jobs for {acked} acknowledged and {in_doubt} in-doubt writes")
        return Outcome(
            fault,
            max((w.waited for w in around), default=0.0),
            resumed,
            dict(answers),
            acked,
            in_doubt,
            jobs,
            bad,
            frozen_waits,
        )


def _jobs_in(cluster: LoopbackCluster, at_least: int, timeout: float = 60.0) -> int:
    """Every job the cluster holds, once the counts stop moving (all no-ops finish)."""
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        try:
            counts: dict[str, int] = cluster.get("/api/v1/stats").json()["jobs"]
            total = sum(counts.values())
            live = total - counts.get("succeeded", 0)
        except (ConnectionError, ValueError, KeyError):
            total, live = -1, -1
        if total >= at_least and live == 0 and total == last:
            return total
        if time.monotonic() > deadline:
            return total
        last = total
        time.sleep(0.5)


def _keyed_twice(cluster: LoopbackCluster, writes: Sequence[Write]) -> int:
    """Keys acknowledged once and answered with a different job when sent again."""
    wrong = 0
    for write in writes:
        if write.key is None or write.status not in (200, 201):
            continue
        again = cluster.post("/api/v1/jobs", {"type": "noop", "idempotency_key": write.key})
        # the same body under the same key: 200 and the job it made
        if again.status_code != 200 or again.json()["id"] != write.job_id:
            wrong += 1
    return wrong


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fault", choices=("kill", "pause", "both"), default="both")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds the leader is frozen")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    faults = ("kill", "pause") if args.fault == "both" else (args.fault,)
    report: dict[str, Any] = {}
    for fault in faults:
        outcomes = []
        for n in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="podium-failover-") as tmp:
                outcome = run_once(Path(tmp), fault, pause_s=args.pause, threads=args.writers)
            outcomes.append(outcome)
            if not args.json:
                problems = f", PROBLEMS: {outcome.bad}" if outcome.bad else ""
                print(
                    f"{fault} run {n + 1}: worst wait {outcome.worst_wait_s:.3f} s, "
                    f"resumed after {outcome.resumed_s:.3f} s, answers {outcome.answers}, "
                    f"{outcome.jobs} jobs{problems}",
                    flush=True,
                )
        waits = [o.worst_wait_s for o in outcomes]
        resumed = [o.resumed_s for o in outcomes]
        report[fault] = {
            "runs": len(outcomes),
            "worst_wait_s": {"median": statistics.median(waits), "max": max(waits)},
            "resumed_s": {"median": statistics.median(resumed), "max": max(resumed)},
            "answers": dict(sum((Counter(o.answers) for o in outcomes), Counter())),
            "problems": [p for o in outcomes for p in o.bad],
        }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for fault, figures in report.items():
            print(
                f"{fault}: worst wait median {figures['worst_wait_s']['median']:.3f} s, "
                f"max {figures['worst_wait_s']['max']:.3f} s; resumed median "
                f"{figures['resumed_s']['median']:.3f} s, max {figures['resumed_s']['max']:.3f} s; "
                f"answers {figures['answers']}; problems {figures['problems'] or 'none'}"
            )
    return 0 if not any(f["problems"] for f in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
