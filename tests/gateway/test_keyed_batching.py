"""Keyed single submits batch like plain ones (every job the Python client submits carries
a key, so committing them one per log entry cost it most of its throughput), and a key
that comes twice in one batch still makes one job."""

from __future__ import annotations

import trio
from prometheus_client import CollectorRegistry

from tests.gateway.api import running_api


def commit_index(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value("podium_raft_commit_index")
    assert value is not None
    return value


async def test_keyed_submits_that_arrive_together_share_log_entries() -> None:
    async with running_api(worker=False) as api:
        before = commit_index(api.registry)
        answers: dict[str, list[str]] = {}

        async def submit(key: str) -> None:
            body = {"type": "noop", "delay_s": 600, "idempotency_key": key}
            answer = await api.client.post("/api/v1/jobs", json=body)
            assert answer.status_code == 201, answer.text
            answers.setdefault(key, []).append(answer.json()["id"])

        async with trio.open_nursery() as nursery:
            for n in range(64):
                nursery.start_soon(submit, f"k{n}")
            for _ in range(3):
                nursery.start_soon(submit, "twice-over")
        entries = commit_index(api.registry) - before
        assert entries < 32, entries
        ids = [job_id for key, got in answers.items() if key != "twice-over" for job_id in got]
        assert len(set(ids)) == 64
        # the same key three times, in one batch or several: one job
        assert len(set(answers["twice-over"])) == 1
        listed = (await api.client.get("/api/v1/jobs", params={"limit": 1000})).json()["jobs"]
        assert len(listed) == 65
