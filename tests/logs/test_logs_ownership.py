"""With auth on, a ``user`` reads only their own jobs' output (another's is a 404, as
``GET /api/v1/jobs/{id}`` answers)."""

from __future__ import annotations

from tests.gateway.api import running_api
from tests.gateway.owners import headers, submit, two_users


async def test_another_users_job_output_is_not_found() -> None:
    async with running_api(two_users(), worker=False) as api:
        bob, cy = [await headers(api, u) for u in ("bob", "cy")]
        theirs = await submit(api, cy, delay_s=600)
        hidden = await api.client.get(f"/api/v1/jobs/{theirs}/logs", headers=bob)
        assert hidden.status_code == 404
        assert hidden.json() == {"error": f"job {theirs!r} not found"}
