"""The native client against real nodes (``python -m runtime.node`` processes): every
method, threads sharing one client, several addresses, and a master killed under it."""

from __future__ import annotations

import concurrent.futures
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from bench.loopback import LoopbackCluster, free_ports
from client import AsyncClient, Client, PodiumError
from client.api import job_body
from tests.dev_node import dev_node, http_url, native_url


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "native")


def test_the_sync_client_does_everything_over_the_native_protocol(dev: LoopbackCluster) -> None:
    with Client(native_url(dev)) as c:
        one = c.submit("noop", {"n": 1}, priority=9)
        assert set(one) == {"id", "status"} and one["status"] == "pending"
        batch = c.submit_batch([job_body("noop"), job_body("sleep", {"seconds": 0.01})])
        assert [set(j) for j in batch] == [{"id", "status"}] * 2
        final = c.wait([one["id"], *(j["id"] for j in batch)], timeout=30)
        assert {j["status"] for j in final.values()} == {"succeeded"}
        assert c.get(one["id"], stale=True)["priority"] == 9
        assert one["id"] in {j["id"] for j in c.iter_jobs(status="succeeded")}
        page = c.list(limit=1, order="asc", since="2000-01-01")
        assert page["cursor"] is not None and len(page["jobs"]) == 1
        delayed = c.submit("noop", delay_s=600)
        assert c.cancel(delayed["id"])["status"] == "cancelled"
        with pytest.raises(PodiumError) as refused:
            c.retry(delayed["id"])
        assert refused.value.status == 409
        assert c.delete(delayed["id"]) == {"deleted": 1}
        assert c.purge(status="cancelled") == {"deleted": 0}
        assert c.stats()["jobs"]["succeeded"] >= 3
        assert [w["id"] for w in c.workers()] == ["m1"]
        assert c.cluster()["leader"] == "m1"
        for bad, status in ((lambda: c.get("no-such-job"), 404),
                            (lambda: c.submit("noop", priority=12), 400),
                            (lambda: c.list(limit=0), 400),
                            (lambda: c.login("ada", "pw"), 400)):  # fmt: skip
            with pytest.raises(PodiumError) as error:
                bad()
            assert error.value.status == status


def test_both_protocols_give_the_same_answers(dev: LoopbackCluster) -> None:
    with Client(native_url(dev)) as native, Client(http_url(dev)) as http:
        job = native.submit("noop", {"x": [1, 2.5, "three", None, {"deep": True}]})
        native.wait([job["id"]], timeout=30)
        assert native.get(job["id"]) == http.get(job["id"])
        assert native.list(type="noop", limit=5) == http.list(type="noop", limit=5)
        for call in (lambda c: c.get("nope"), lambda c: c.submit("noop", payload=[1])):
            errors = []
            for client in (native, http):
                with pytest.raises(PodiumError) as error:
                    call(client)
                errors.append((error.value.status, error.value.message))
            assert errors[0] == errors[1]


def test_one_sync_client_shared_by_threads(dev: LoopbackCluster) -> None:
    with Client(native_url(dev)) as c, concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda n: c.submit("noop", {"n": n})["id"], range(64)))
        assert len(set(ids)) == 64


async def test_the_async_client_under_trio_skips_a_dead_address(dev: LoopbackCluster) -> None:
    (dead,) = free_ports(1)
    url = f"podium://127.0.0.1:{dead},127.0.0.1:{dev.raft_ports[0]}"
    async with AsyncClient(url) as c:
        job = await c.submit("noop")
        with trio.fail_after(30):
            final = await c.wait([job["id"]], poll_s=0.05)
        assert final[job["id"]]["status"] == "succeeded"
    async with AsyncClient(f"podium://127.0.0.1:{dead}", retry_deadline_s=0.3) as nowhere:
        with pytest.raises(PodiumError) as unreachable:
            await nowhere.stats()
        assert unreachable.value.status == 0 and "cannot reach" in unreachable.value.message
        assert "gave up after" in unreachable.value.message


def test_a_read_goes_on_at_another_master_when_its_master_dies(tmp_path: Path) -> None:
    fast = {"PODIUM_RAFT__TICK_S": "0.02"}
    with LoopbackCluster(tmp_path, masters=3, workers=0, env=fast) as cluster:
        cluster.start(timeout=60)
        with Client(native_url(cluster), timeout=30) as c:
            job = c.submit("noop", delay_s=600, idempotency_key="k-1")
            assert c.native is not None and c.native._conn is not None
            first = c.native._conn.node
            proc = cluster.masters[first].proc
            assert proc is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            # a read is repeated on the next master, which waits out the election
            assert c.get(job["id"])["id"] == job["id"]
            assert c.native._conn is not None and c.native._conn.node != first
            # a keyed submit is safe to repeat: the same key gives the same job
            assert c.submit("noop", delay_s=600, idempotency_key="k-1")["id"] == job["id"]
        http = next(m.http for m in cluster.live_masters() if m.http)
        assert httpx.get(f"{http}/api/v1/jobs/{job['id']}").status_code == 200
