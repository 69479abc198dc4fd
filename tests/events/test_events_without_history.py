"""With ``retention.keep_finished_s = 0`` no finished job is written to the history, and
its final event is made all the same: events come from the applied commands, not from
the records the retention policy keeps."""

from __future__ import annotations

import attrs
import httpx

from actors.master.actor import MasterSettings
from tests.events.nodes import kinds, new, report, started_node
from tests.gateway.api import running_api, served
from tests.scheduler.tables import assign
from tests.waits import read_events
from transport.commands import SubmitCmd


def test_final_events_are_derived_when_no_record_is_kept() -> None:
    node = started_node()
    node.table.retention = attrs.evolve(node.table.retention, keep_finished_s=0.0)
    node.apply(SubmitCmd(1.0, (new("a"), new("b", retries=0))))
    node.apply(assign("a", 1, 2.0))
    node.apply(assign("b", 1, 2.0))
    assert kinds(node.apply(report("a", 1, True, 3.0))) == [("job.finished", "a", "succeeded")]
    assert kinds(node.apply(report("b", 1, False, 3.0))) == [("job.dead", "b", "dead")]


async def test_the_stream_says_a_job_finished_on_a_master_that_keeps_no_history() -> None:
    settings = MasterSettings(lease_s=5.0, heartbeat_s=0.2, keep_finished_s=0.0)
    async with running_api(settings=settings) as api, served(api) as (host, port):
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as http:
            async with http.stream("GET", "/api/v1/events", params={"type": "job"}) as stream:
                job = (await http.post("/api/v1/jobs", json={"type": "noop"})).json()["id"]
                seen = await read_events(stream, "job.finished")
            gone = await http.get(f"/api/v1/jobs/{job}")
            history = (await http.get("/api/v1/stats")).json()["history_jobs"]
    mine = [(e["type"], e.get("status")) for e in seen if e.get("job") == job]
    assert mine == [("job.submitted", None), ("job.started", "running"),
                    ("job.finished", "succeeded")]  # fmt: skip
    assert gone.status_code == 404 and history == 0, "and no record was kept"
