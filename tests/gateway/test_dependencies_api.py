"""Dependencies through the HTTP API on a real master and worker: chains and fan-in as one
batch, parents' results in ``ctx.parents``, parent failures, ``children``, bad input."""

from __future__ import annotations

from typing import Any

import trio

from actors.worker.errors import JobFailed
from actors.worker.handlers import JobContext, handler
from runtime.storage.history import FINAL_STATUSES
from tests.gateway.api import Api, running_api, wait_status

Job = dict[str, Any]


@handler("deps-echo")
async def echo(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Returns its payload's ``n`` and what its parents returned."""
    return {"n": payload.get("n"), "parents": dict(context.parents)}


@handler("deps-fail")
async def fail(payload: dict[str, Any]) -> None:
    raise JobFailed("this parent fails on purpose")


async def final(api: Api, job_id: str) -> Job:
    return await wait_status(api, job_id, *FINAL_STATUSES)


async def batch(api: Api, *jobs: Job) -> list[str]:
    answer = await api.client.post("/api/v1/jobs/batch", json={"jobs": list(jobs)})
    assert answer.status_code == 201, answer.text
    return [j["id"] for j in answer.json()["jobs"]]


async def test_a_chain_in_one_batch_runs_in_order_and_hands_results_down() -> None:
    async with running_api() as api:
        a, b, c = await batch(
            api,
            {"type": "deps-echo", "payload": {"n": 1}, "ref": "a"},
            {"type": "deps-echo", "payload": {"n": 2}, "ref": "b", "depends_on": ["ref:a"]},
            {"type": "deps-echo", "payload": {"n": 3}, "depends_on": ["ref:b"]},
        )
        last = await final(api, c)
        first, middle = await final(api, a), await final(api, b)
        assert [j["status"] for j in (first, middle, last)] == ["succeeded"] * 3
        assert middle["depends_on"] == [a] and last["depends_on"] == [b]
        assert first["finished_at"] <= middle["started_at"]
        assert middle["finished_at"] <= last["started_at"]
        assert middle["result"]["parents"] == {a: {"n": 1, "parents": {}}}
        assert last["result"]["parents"][b]["n"] == 2
        assert first["children"] == [b] and middle["children"] == [c] and last["children"] == []


async def test_fan_out_and_fan_in_with_a_job_id_mixed_in() -> None:
    async with running_api() as api:
        (root,) = await batch(api, {"type": "deps-echo", "payload": {"n": 0}})
        await final(api, root)  # final before its children exist: the history vouches for it
        ids = await batch(
            api,
            *(
                {"type": "deps-echo", "payload": {"n": i}, "ref": f"part{i}", "depends_on": [root]}
                for i in range(1, 4)
            ),
            {
                "type": "deps-echo",
                "payload": {"n": 9},
                "depends_on": ["ref:part1", "ref:part2", "ref:part3", root],
            },
        )
        join = await final(api, ids[-1])
        assert join["status"] == "succeeded"
        assert {p: r["n"] for p, r in join["result"]["parents"].items()} == {
            ids[0]: 1,
            ids[1]: 2,
            ids[2]: 3,
            root: 0,
        }
        parent = (await api.client.get(f"/api/v1/jobs/{root}")).json()
        assert parent["children"] == ids, "a final job lists its children, in order"


async def test_a_failed_parent_skips_fails_or_runs_its_children() -> None:
    async with running_api() as api:
        ids = await batch(
            api,
            {"type": "deps-fail", "max_retries": 0, "ref": "bad"},
            {"type": "deps-echo", "depends_on": ["ref:bad"], "on_parent_failure": "skip"},
            {"type": "deps-echo", "depends_on": ["ref:bad"]},
            {"type": "deps-echo", "depends_on": ["ref:bad"], "on_parent_failure": "run"},
        )
        bad, skipped, failed, ran = [await final(api, i) for i in ids]
        assert bad["status"] == "dead"
        assert (skipped["status"], skipped["last_reason"]) == ("cancelled", "parent_failed")
        assert (failed["status"], failed["last_reason"]) == ("dead", "parent_failed")
        assert skipped["attempts"] == failed["attempts"] == 0, "neither ran"
        assert ran["status"] == "succeeded" and ids[0] in ran["result"]["parents"]


async def test_a_blocked_job_shows_blocked_and_its_parent() -> None:
    async with running_api() as api:
        parent, child = await batch(
            api,
            {"type": "sleep", "payload": {"seconds": 0.5}, "ref": "p"},
            {"type": "noop", "depends_on": ["ref:p"]},
        )
        job = (await api.client.get(f"/api/v1/jobs/{child}")).json()
        assert job["status"] == "blocked" and job["depends_on"] == [parent]
        page = (await api.client.get("/api/v1/jobs", params={"status": "blocked"})).json()
        assert [j["id"] for j in page["jobs"]] == [child]
        assert (await api.client.get(f"/api/v1/jobs/{parent}")).json()["children"] == [child]
        assert (await final(api, child))["status"] == "succeeded"


async def test_single_submits_with_parents_each_get_their_own_answer() -> None:
    async with running_api() as api:
        c = api.client
        (parent,) = await batch(api, {"type": "noop"})
        good, bad = await trio_gather(
            c.post("/api/v1/jobs", json={"type": "noop", "depends_on": [parent]}),
            c.post("/api/v1/jobs", json={"type": "noop", "depends_on": ["no-such-job"]}),
        )
        assert good.status_code == 201, good.text
        assert bad.status_code == 400 and "unknown job ids: no-such-job" in bad.json()["error"]
        assert (await final(api, good.json()["id"]))["status"] == "succeeded"


async def trio_gather(*requests: Any) -> list[Any]:
    out: list[Any] = [None] * len(requests)

    async def one(n: int, request: Any) -> None:
        out[n] = await request

    async with trio.open_nursery() as nursery:
        for n, request in enumerate(requests):
            nursery.start_soon(one, n, request)
    return out


BAD_BATCHES = [
    ([{"type": "noop", "depends_on": ["ref:nope"]}], "no job in the batch has"),
    ([{"type": "noop", "ref": "x"}, {"type": "noop", "ref": "x"}], "already the ref of jobs[0]"),
    (
        [
            {"type": "noop", "ref": "a", "depends_on": ["ref:b"]},
            {"type": "noop", "ref": "b", "depends_on": ["ref:a"]},
        ],
        "cycle",
    ),
    ([{"type": "noop", "ref": "me", "depends_on": ["ref:me"]}], "cycle"),
    ([{"type": "noop"}, {"type": "noop", "depends_on": ["missing-id"]}], "unknown job ids"),
]


async def test_bad_references_are_a_400_and_make_nothing() -> None:
    async with running_api(worker=False) as api:
        for jobs, message in BAD_BATCHES:
            answer = await api.client.post("/api/v1/jobs/batch", json={"jobs": jobs})
            assert answer.status_code == 400, (jobs, answer.text)
            assert message in answer.json()["error"], answer.json()
        single = await api.client.post(
            "/api/v1/jobs", json={"type": "noop", "depends_on": ["ref:a"]}
        )
        assert single.status_code == 400 and "only in a batch" in single.json()["error"]
        stats = (await api.client.get("/api/v1/stats")).json()
        assert stats["live_jobs"] == 0, "a refused batch makes none of its jobs"


async def test_a_keyed_batch_sent_again_names_the_same_jobs() -> None:
    """What a client does after a lost answer: the same batch, the same keys. A ref to a
    sibling whose key already names a job (live, or final in the history) is that job."""
    async with running_api() as api:
        jobs = [
            {"type": "deps-echo", "payload": {"n": 1}, "ref": "a", "idempotency_key": "ka"},
            {"type": "deps-echo", "depends_on": ["ref:a"], "idempotency_key": "kb"},
        ]
        first = await batch(api, *jobs)
        again = await api.client.post("/api/v1/jobs/batch", json={"jobs": jobs})
        assert again.status_code == 200 and [j["id"] for j in again.json()["jobs"]] == first
        await final(api, first[1])
        later = await batch(api, jobs[0], {"type": "deps-echo", "depends_on": ["ref:a"]})
        assert later[0] == first[0], "the key names the finished job"
        child = await final(api, later[1])
        assert child["depends_on"] == [first[0]] and first[0] in child["result"]["parents"]
