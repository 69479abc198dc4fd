"""Two worker processes started with one ``--id``: the second is refused with one line
and exit code 2, and the first carries on as if nothing happened."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster


def test_a_second_worker_with_the_same_id_is_refused(tmp_path: Path) -> None:
    with LoopbackCluster(
        tmp_path, masters=1, workers=1, capacity=2, env=FAST_FAILURE_DETECTION
    ) as cluster:
        cluster.start(timeout=60)
        first = cluster.workers["w1"]
        argv = list(first.argv)
        argv[argv.index("--http") + 1] = ""  # its own HTTP port would clash first
        started = time.monotonic()
        second = subprocess.run(
            argv,
            env={**os.environ, **FAST_FAILURE_DETECTION},
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started
        assert second.returncode == 2, second.stderr[-2000:]
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("podium: worker id w1 is already connected from 127.0.0.1:"), last
        assert took < 20, f"refused only after {took:.1f} s"
        # the first worker was never disturbed: still registered, and it runs jobs
        assert first.alive
        workers = cluster.get("/api/v1/workers").json()["workers"]
        assert [(w["id"], w["state"]) for w in workers] == [("w1", "available")]
        ids = cluster.submit_batch([{"type": "noop"}] * 10)
        outcome = cluster.wait_finished(ids, timeout=30)
        assert set(outcome.values()) == {"succeeded"}
        jobs = [cluster.get(f"/api/v1/jobs/{job_id}").json() for job_id in ids]
        assert {job["attempts"] for job in jobs} == {1}
