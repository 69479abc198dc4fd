"""A master whose data directory fills up degrades, and recovers once space is freed.

Three masters and two workers run as real processes; every master's data
directory is its own small tmpfs, so one of them can be filled for real
(SQLite answers "database or disk is full"). The leader's is filled while
jobs are submitted: it must stop taking writes (507, or a new leader takes
over and writes go on through every master), keep serving ``/health`` and
reads, say why in ``/ready`` and ``podium_disk_full``, never exit, and catch
up by itself once the filler file is removed. Nothing acknowledged is lost.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster

DISK = "48m"


def _mount(path: Path) -> None:
    path.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    c = LoopbackCluster(tmp_path, masters=3, workers=2, capacity=4, env=FAST_FAILURE_DETECTION)
    mounted: list[Path] = []
    try:
        for name in c.masters:
            _mount(tmp_path / name)
            mounted.append(tmp_path / name)
        with c:
            c.start(timeout=60)
            yield c
            print(c.describe())
    finally:
        for path in mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    """Write a file until the disk refuses another byte."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while os.write(fd, block) == size:
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def _submit(cluster: LoopbackCluster, master: str, n: int) -> tuple[list[str], Counter[str]]:
    """``n`` single submits through ``master``: the ids acknowledged, and every answer."""
    ids, answers = [], Counter[str]()
    for _ in range(n):
        answer = cluster.post("/api/v1/jobs", {"type": "noop"}, master=master)
        answers[str(answer.status_code)] += 1
        if answer.status_code == 201:
            ids.append(answer.json()["id"])
        else:
            assert answer.status_code in (503, 507), answer.text
            if answer.status_code == 507:
                assert answer.json()["error"].startswith(f"disk full on {master}: "), answer.text
        time.sleep(0.01)
    return ids, answers


def _metric(cluster: LoopbackCluster, master: str, name: str) -> float:
    text = cluster.get("/metrics", master=master).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics of {master}")


def test_a_full_data_directory_degrades_the_master_and_it_recovers(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    full = cluster.wait_ready(30)
    before, _ = _submit(cluster, full, 20)
    filler = _fill(tmp_path / full)
    filled_at = time.monotonic()

    # writes through the full master: refused (507) while it still leads, then forwarded
    # to the master that took over; writes through the others go on
    during, answers = _submit(cluster, full, 150)
    print(f"answers through {full} while its disk was full: {dict(answers)}")
    assert answers["201"] > 0, answers
    others = [m for m in cluster.masters if m != full]
    for other in others:
        more, other_answers = _submit(cluster, other, 20)
        assert other_answers == {"201": 20}, other_answers
        during += more
    node = cluster.masters[full]
    assert node.alive, node.log_tail()
    assert cluster.get("/health", master=full).status_code == 200
    ready = cluster.get("/ready", master=full)
    assert ready.status_code == 503 and ready.json()["reason"].startswith(
        f"disk full on {full}: "
    ), ready.text
    assert _metric(cluster, full, "podium_disk_full") == 1.0
    # reads through it still work (linearizable: from the leader that took over)
    assert cluster.get(f"/api/v1/jobs/{during[-1]}", master=full).status_code == 200
    print(f"{full} was full for {time.monotonic() - filled_at:.1f} s")

    filler.unlink()
    freed_at = time.monotonic()
    deadline = freed_at + 30
    while cluster.get("/ready", master=full).status_code != 200:
        assert time.monotonic() < deadline, cluster.describe()
        time.sleep(0.1)
    print(f"{full} ready again {time.monotonic() - freed_at:.2f} s after space was freed")
    assert _metric(cluster, full, "podium_disk_full") == 0.0
    assert node.alive
    # it caught up: its own copy (a stale read) has what was written while it was full
    assert cluster.get(f"/api/v1/jobs/{during[-1]}", master=full, stale="true").status_code == 200
    after, answers = _submit(cluster, full, 20)
    assert answers == {"201": 20}, answers

    outcome = cluster.wait_finished([*before, *during, *after], timeout=90)
    assert Counter(outcome.values()) == {"succeeded": len(outcome)}, Counter(outcome.values())
    assert "Traceback" not in node.log_path.read_text()
