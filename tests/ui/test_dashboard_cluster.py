"""The dashboard on a follower of three real masters keeps updating across a leader
kill: its events stream follows the new leader's jobs, and its cluster panel shows the
new leader and the dead master unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.loopback import LoopbackCluster

# without playwright installed this module is skipped rather than failing to import
expect = pytest.importorskip("playwright.sync_api").expect
FAST = {"PODIUM_SCHEDULER__LEASE_S": "2", "PODIUM_SCHEDULER__HEARTBEAT_S": "0.3"}
WAIT_MS = 30_000
JOBS = 20


def test_a_dashboard_on_a_follower_keeps_updating_across_a_leader_kill(
    page: Any, tmp_path: Path
) -> None:
    with LoopbackCluster(tmp_path, masters=3, workers=1, env=FAST) as cluster:
        cluster.start(timeout=60)
        leader = cluster.wait_ready()
        follower = sorted(set(cluster.masters) - {leader})[0]
        url = cluster.masters[follower].http
        page.goto(f"{url}/ui#/")
        page.evaluate("window.notReloaded = true")
        expect(page.locator("#served-by")).to_have_text(f"served by {follower}")
        expect(page.locator("#leader")).to_have_text(leader, timeout=WAIT_MS)
        for name in cluster.masters:
            health = page.locator(f'tr[data-master="{name}"] .health')
            expect(health).to_have_text("ready", timeout=WAIT_MS)
        expect(page.locator("#stream-state")).to_have_text("live", timeout=WAIT_MS)

        cluster.submit_batch([{"type": "noop"}] * JOBS, master=follower)
        expect(page.locator("#live-ended")).to_have_text(str(JOBS), timeout=WAIT_MS)

        cluster.masters[leader].kill()
        new_leader = cluster.wait_ready(30, workers=1)
        expect(page.locator("#leader")).to_have_text(new_leader, timeout=WAIT_MS)
        expect(page.locator(f'tr[data-master="{leader}"] .health')).to_contain_text(
            "unreachable", timeout=WAIT_MS
        )
        cluster.submit_batch([{"type": "noop"}] * JOBS, master=follower)
        expect(page.locator("#live-ended")).to_have_text(str(2 * JOBS), timeout=WAIT_MS)
        expect(page.locator('[data-count="succeeded"] b')).to_have_text(
            str(2 * JOBS), timeout=WAIT_MS
        )
        expect(page.locator("#stream-state")).to_have_text("live")
        assert page.evaluate("window.notReloaded") is True
