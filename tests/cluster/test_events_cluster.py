"""The events stream on three real masters: a client on a follower keeps receiving across
a leader kill, and resuming on another master with Last-Event-ID loses and repeats nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from bench.loopback import FAST_FAILURE_DETECTION, LoopbackCluster
from client import Client
from tests.waits import read_until, wait_for

JOBS = 20


class Collector:
    """Reads one master's stream in a thread, keeping every event."""

    def __init__(self, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.client = Client(url, retry_deadline_s=60)
        # what ended the stream before close(), if anything did
        self.error: Exception | None = None
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.client.events():
                self.events.append(event)
        except Exception as error:
            if not self.closing:
                self.error = error

    def finished(self) -> set[str]:
        assert self.error is None, f"the stream failed: {self.error!r}"
        return {e["job"] for e in list(self.events) if e["type"] == "job.finished"}

    def close(self) -> None:
        self.closing = True
        self.client.close()


def log_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events derived from the log (the same on every master): ids without ``s``."""
    return [e for e in events if "id" in e and "-s" not in e["id"]]


def test_a_follower_streams_across_a_leader_kill_and_resuming_elsewhere_is_exact(
    tmp_path: Path,
) -> None:
    handlers = ("--handlers", "tests.worker.progress_handlers")
    with LoopbackCluster(
        tmp_path, masters=3, workers=1, env=FAST_FAILURE_DETECTION, worker_args=handlers
    ) as cluster:
        cluster.start(timeout=60)
        leader = cluster.wait_ready()
        follower, third = sorted(set(cluster.masters) - {leader})
        url = cluster.masters[follower].http
        assert url is not None
        reader = Collector(url)
        time.sleep(0.5)  # the stream is open before the jobs come
        before = cluster.submit_batch([{"type": "noop"}] * JOBS, master=follower)
        wait_for(lambda: set(before) <= reader.finished(), 30, "the first jobs' events")

        # progress reaches the follower: its stale read, and its stream
        release = tmp_path / "release"
        [held] = cluster.submit_batch(
            [{"type": "progress.hold", "payload": {"release": str(release)}}], master=follower
        )

        def follower_shows_progress() -> bool:
            view = cluster.get(f"/api/v1/jobs/{held}", master=follower, stale="true").json()
            return bool(view.get("progress") == 0.4)

        wait_for(follower_shows_progress, 30, "progress on the follower's stale read")
        wait_for(
            lambda: any(e.get("job") == held and e.get("progress") == 0.4 for e in reader.events),
            10,
            "a job.progress event on the follower's stream",
        )
        release.touch()
        wait_for(lambda: held in reader.finished(), 30, "the held job's end")
        cluster.masters[leader].kill()
        new_leader = cluster.wait_ready(30, workers=1)
        assert new_leader != leader
        after = cluster.submit_batch([{"type": "noop"}] * JOBS, master=follower)
        wait_for(lambda: set(after) <= reader.finished(), 30, "the later jobs' events")
        seen = list(reader.events)
        for job_id in (*before, *after):
            kinds = [e["type"] for e in seen if e.get("job") == job_id]
            assert kinds == ["job.submitted", "job.started", "job.finished"], (job_id, kinds)
        assert any(e["type"] == "leader.changed" and e["leader"] == new_leader for e in seen)
        ids = [e["id"] for e in seen]
        assert len(ids) == len(set(ids))

        # resume on the third master from the middle of what the follower sent
        logged = log_events(seen)
        middle = logged[len(logged) // 2]["id"]
        expected = [e["id"] for e in logged[len(logged) // 2 + 1 :]]
        third_url = cluster.masters[third].http
        assert third_url is not None
        with Client(third_url) as client:
            events = read_until(
                client.events(last_event_id=middle),
                lambda e: e["type"] == "stream.gap" or e["id"] == expected[-1],
                30,
                f"the third master's stream after {middle} up to {expected[-1]}",
            )
        assert events[-1]["type"] != "stream.gap", events[-1]
        assert [e["id"] for e in events if "-s" not in e["id"]] == expected
        reader.close()
