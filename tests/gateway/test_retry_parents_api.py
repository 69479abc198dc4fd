"""A child retried by hand runs with its parents' results again, through the HTTP API on
a real master and worker (the leader reads them from its history for the retry)."""

from __future__ import annotations

from typing import Any

from actors.worker.errors import JobFailed
from actors.worker.handlers import JobContext, handler
from runtime.storage.history import FINAL_STATUSES
from tests.gateway.api import running_api, wait_status


@handler("retry-parents-parent")
async def parent_job(payload: dict[str, Any]) -> int:
    return 7


@handler("retry-parents-child")
async def child(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Fails its first run for good; a later one returns what its parents returned."""
    if context.attempt == 1:
        raise JobFailed("the first run fails on purpose")
    return dict(context.parents)


async def test_a_retried_child_reads_its_parents_results() -> None:
    async with running_api() as api:
        c = api.client
        answer = await c.post(
            "/api/v1/jobs/batch",
            json={
                "jobs": [
                    {"type": "retry-parents-parent", "ref": "p"},
                    {"type": "retry-parents-child", "max_retries": 0, "depends_on": ["ref:p"]},
                ]
            },
        )
        assert answer.status_code == 201, answer.text
        parent, kid = (j["id"] for j in answer.json()["jobs"])
        assert (await wait_status(api, kid, *FINAL_STATUSES))["status"] == "dead"
        retried = await c.post(f"/api/v1/jobs/{kid}/retry")
        assert retried.status_code == 200, retried.text
        again = await wait_status(api, kid, "succeeded", "dead")
        assert again["status"] == "succeeded", again
        assert again["result"] == {parent: 7}
