"""Following a job that prints more than ``log_max_bytes``, across its end, on a real dev
node: the worker answers while it runs, the master's store once it ended, and the follower
gets the head, the cut, and every byte of the tail once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.loopback import LoopbackCluster
from transport.output_messages import cut_marker

LIMIT = 1024
EARLY = b"".join(b"early %03d\n" % n for n in range(200))
LATE = b"".join(b"late %03d\n" % n for n in range(30))
STREAM = EARLY + LATE
# far over the limit at once, a pause the follower reads through, then the end
COMMAND = (
    "for i in $(seq 0 199); do printf 'early %03d\\n' $i; done; sleep 1.5; "
    "for i in $(seq 0 29); do printf 'late %03d\\n' $i; done"
)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    root: Path = tmp_path_factory.mktemp("logs-follow")
    with LoopbackCluster(root, single=True, master_args=["--log-max-bytes", str(LIMIT)]) as node:
        node.start(timeout=60)
        yield node
        print(node.describe())


def followed(dev: LoopbackCluster, job: str) -> bytes:
    http = dev.masters["m1"].http
    parts: list[bytes] = []
    with httpx.stream(
        "GET", f"{http}/api/v1/jobs/{job}/logs", params={"follow": "true"}, timeout=30
    ) as answer:
        parts.extend(answer.iter_bytes())
    return b"".join(parts)


def test_a_follow_across_the_end_gets_every_byte_of_the_tail_once(dev: LoopbackCluster) -> None:
    answer = dev.post("/api/v1/jobs", {"type": "shell", "payload": {"cmd": COMMAND}})
    assert answer.status_code == 201, answer.text
    job = answer.json()["id"]
    seen = followed(dev, job)
    head, tail = STREAM[: LIMIT // 2], STREAM[-LIMIT // 2 :]
    assert seen.startswith(head) and b"bytes of output cut" in seen
    assert seen.endswith(tail), seen[-200:]
    whole_lines = tail[tail.index(b"\n") + 1 :].splitlines(keepends=True)
    assert [seen.count(line) for line in whole_lines] == [1] * len(whole_lines)
    # read whole once it ended: the head, one marker for all that was cut, the tail
    whole = dev.get(f"/api/v1/jobs/{job}/logs").content
    assert whole == head + cut_marker(len(STREAM) - LIMIT) + tail
