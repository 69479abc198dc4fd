"""The client's failover rules against fake masters (httpx's MockTransport): several
addresses, automatic idempotency keys, which failures are tried again and where, Retry-After,
the deadline, and re-sent writes whose first attempt applied."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

import httpx
import pytest

from client import AsyncClient, Client, PodiumError
from client.api import job_body
from client.failover import Attempts, Settle, already_done, retry_after, split_url

A, B, C = "http://a:1", "http://b:2", "http://c:3"
URLS = f"{A},{B},{C}"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeMasters:
    """Answers each request with the next scripted outcome for its host: a status (with an
    optional Retry-After), an exception class to raise, or ``"ok"`` (201 with an id).
    Every request is recorded as (host, method, path, JSON body, monotonic time)."""

    def __init__(self, script: dict[str, list[object]]) -> None:
        self.script = script
        self.seen: list[tuple[str, str, str, object, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        body = json.loads(request.content) if request.content else None
        self.seen.append((host, request.method, request.url.path, body, time.monotonic()))
        outcomes = self.script.get(host) or ["ok"]
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome("scripted failure", request=request)
        if isinstance(outcome, httpx.Response):
            return outcome
        if outcome == "ok":
            return httpx.Response(201, json={"id": f"job-{len(self.seen)}", "status": "pending"})
        assert isinstance(outcome, int)
        return httpx.Response(outcome, json={"error": f"scripted {outcome}"})

    def hosts(self) -> list[str]:
        return [seen[0] for seen in self.seen]


def client(masters: FakeMasters, deadline: float = 5.0, url: str = URLS) -> Client:
    return Client(url, retry_deadline_s=deadline, transport=httpx.MockTransport(masters))


def test_split_url_takes_several_addresses_of_one_protocol() -> None:
    assert split_url("http://a:1, http://b:2/") == ("http://", ["http://a:1", "http://b:2"])
    assert split_url("https://a:1,b:2") == ("https://", ["https://a:1", "https://b:2"])
    assert split_url("podium://a:1,podium://b:2") == ("podium://", ["a:1", "b:2"])
    assert split_url("podium://a:1,b:2") == ("podium://", ["a:1", "b:2"])
    for bad in ("ftp://a", "http://a:1,podium://b:2", "podium://a:1,http://b:2", "http://a:1,,",
                "", "http://"):  # fmt: skip
        with pytest.raises(ValueError):
            split_url(bad)


def test_podium_url_lists_several_masters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_URL", URLS)
    with Client() as c:
        assert c.urls == [A, B, C]
    with Client("http://a:1,b:2") as c:
        assert c.urls == [A, "http://b:2"]


def test_every_submitted_job_gets_its_own_key_unless_it_has_one() -> None:
    masters = FakeMasters(
        {"a": [httpx.Response(201, json={"jobs": [{"id": "1", "status": "pending"}] * 3})]}
    )
    with client(masters) as c:
        c.submit("noop")
        c.submit("noop", idempotency_key="mine")
        c.submit_batch([job_body("noop"), job_body("noop"), job_body("noop", idempotency_key="k")])
    one, mine, batch = (seen[3] for seen in masters.seen)
    assert isinstance(one, dict) and one["idempotency_key"].startswith("auto-")
    assert isinstance(mine, dict) and mine["idempotency_key"] == "mine"
    assert isinstance(batch, dict)
    keys = [job["idempotency_key"] for job in batch["jobs"]]
    assert keys[2] == "k" and len(set(keys)) == 3 and all(k.startswith("auto-") for k in keys[:2])


def test_a_submit_goes_on_to_the_next_master_with_the_same_key() -> None:
    masters = FakeMasters({"a": [httpx.ConnectError], "b": [httpx.ReadError], "c": [503, "ok"]})
    with client(masters) as c:
        job = c.submit("noop", {"n": 1})
    assert job["status"] == "pending"
    # a refused, b lost the answer, c said 503; after a backoff, the next round reached c
    assert masters.hosts() == ["a", "b", "c", "a", "b", "c"]
    keys = {seen[3]["idempotency_key"] for seen in masters.seen}  # type: ignore[index]
    assert len(keys) == 1


def test_the_next_call_starts_at_the_master_that_answered() -> None:
    masters = FakeMasters({"a": [httpx.ConnectError]})
    with client(masters) as c:
        c.submit("noop")
        c.submit("noop")
    assert masters.hosts() == ["a", "b", "b"]


def test_reads_fail_over_too() -> None:
    job = {"id": "j", "status": "running"}
    masters = FakeMasters({"a": [httpx.ReadTimeout], "b": [httpx.Response(200, json=job)]})
    with client(masters) as c:
        assert c.get("j") == job


def test_retry_after_is_honoured() -> None:
    busy = httpx.Response(503, json={"error": "no leader"}, headers={"Retry-After": "0.4"})
    masters = FakeMasters({"a": [busy, "ok"]})
    with client(masters, url=A) as c:
        c.submit("noop")
    (first, second) = (seen[4] for seen in masters.seen)
    assert second - first >= 0.4


def test_a_final_answer_is_not_sent_again() -> None:
    for status in (400, 404, 409, 500, 507):
        masters = FakeMasters({"a": [status]})
        with client(masters) as c, pytest.raises(PodiumError) as refused:
            c.submit("noop")
        assert refused.value.status == status and masters.hosts() == ["a"]


def test_the_deadline_ends_the_attempts_with_the_last_error() -> None:
    masters = FakeMasters({host: [httpx.ConnectError] for host in "abc"})
    start = time.monotonic()
    with client(masters, deadline=1.0) as c, pytest.raises(PodiumError) as gave_up:
        c.stats()
    took = time.monotonic() - start
    assert gave_up.value.status == 0
    assert "cannot reach" in gave_up.value.message and "gave up after" in gave_up.value.message
    # it stops once the next jittered wait would end past the 1 s deadline: after four
    # rounds at the earliest (waits of 0.05, 0.1, 0.2, 0.4 s times a draw in [0.5, 1),
    # so from 0.375 s), and with room above for a loaded machine
    assert 0.37 <= took < 5.0, took
    # every address, round after round
    assert set(masters.hosts()) == {"a", "b", "c"} and len(masters.seen) >= 6


def test_an_unanswered_cancel_that_applied_is_a_success() -> None:
    cancelled = httpx.Response(200, json={"id": "j", "status": "cancelled"})
    masters = FakeMasters({"a": [httpx.ReadError], "b": [409, cancelled]})
    with client(masters) as c:
        assert c.cancel("j") == {"id": "j", "status": "cancelled"}
    assert [(s[1], s[2]) for s in masters.seen] == [
        ("POST", "/api/v1/jobs/j/cancel"),
        ("POST", "/api/v1/jobs/j/cancel"),
        ("GET", "/api/v1/jobs/j"),
    ]


def test_a_refused_cancel_stands_when_no_attempt_may_have_applied() -> None:
    # the first attempt never left (connection refused): a 409 is the job's own state
    masters = FakeMasters({"a": [httpx.ConnectError], "b": [409]})
    with client(masters) as c, pytest.raises(PodiumError) as refused:
        c.cancel("j")
    assert refused.value.status == 409
    # and a 409 after an unsure attempt stands when the job is not cancelled
    succeeded = httpx.Response(200, json={"id": "j", "status": "succeeded"})
    masters = FakeMasters({"a": [httpx.ReadError], "b": [409, succeeded]})
    with client(masters) as c, pytest.raises(PodiumError) as refused:
        c.cancel("j")
    assert refused.value.status == 409


def test_unanswered_retry_and_delete_that_applied_are_successes() -> None:
    running = httpx.Response(200, json={"id": "j", "status": "running"})
    masters = FakeMasters({"a": [503], "b": [409, running]})
    with client(masters) as c:
        assert c.retry("j") == {"id": "j", "status": "running"}
    masters = FakeMasters({"a": [httpx.RemoteProtocolError], "b": [404]})
    with client(masters) as c:
        assert c.delete("j") == {"deleted": 1}


def test_already_done_reads_each_refusal() -> None:
    gone, conflict = PodiumError(404, "not found"), PodiumError(409, "no")
    assert already_done(Settle("delete", "j"), gone, None) == {"deleted": 1}
    assert already_done(Settle("delete", "j"), conflict, None) is None
    assert already_done(Settle("cancel", "j"), gone, None) is None
    assert already_done(Settle("cancel", "j"), conflict, {"status": "cancelled"}) == {
        "id": "j",
        "status": "cancelled",
    }
    assert already_done(Settle("retry", "j"), conflict, {"status": "dead"}) is None
    assert already_done(Settle("retry", "j"), conflict, {"status": "pending"}) == {
        "id": "j",
        "status": "pending",
    }
    assert Settle("cancel", "j").needs_job(conflict) and not Settle("delete", "j").needs_job(gone)


def test_attempts_rotate_then_back_off_within_the_deadline() -> None:
    attempts = Attempts(3, 1, 100.0, 10.0, 4.0, random.Random(1))
    error = PodiumError(0, "down")
    assert attempts.index == 1 and attempts.timeout(100.0) == 4.0
    assert attempts.failed(error, 100.0, sent=False) == 0.0
    assert attempts.index == 2
    assert attempts.failed(error, 100.0, sent=False) == 0.0
    # a whole round failed: back off, and the wait grows round by round (up to a second)
    waits = [attempts.failed(error, 100.0, sent=False) for _ in range(3)]
    assert 0.025 <= waits[0] <= 0.05 and waits[1:] == [0.0, 0.0]
    assert not attempts.unsure
    assert attempts.failed(error, 100.0, sent=True, wait_at_least=2.0) == 2.0
    assert attempts.unsure
    assert attempts.timeout(108.0) == 2.0
    with pytest.raises(PodiumError, match="gave up after 7 attempts"):
        attempts.failed(error, 109.5, sent=False, wait_at_least=1.0)


def test_retry_after_takes_seconds() -> None:
    assert retry_after("2") == 2.0
    assert retry_after(" 0.5 ") == 0.5
    assert retry_after("600") == 5.0  # a failover is over sooner
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after(None) is None and retry_after("nan") is None


async def test_the_async_client_fails_over_the_same_way() -> None:
    masters = FakeMasters({"a": [httpx.ConnectError], "b": [503]})

    async def handler(request: httpx.Request) -> httpx.Response:
        return masters(request)

    transport = httpx.MockTransport(handler)
    async with AsyncClient(URLS, retry_deadline_s=5, transport=transport) as c:
        job = await c.submit("noop")
        assert job["status"] == "pending"
        cancelled = httpx.Response(200, json={"id": "j", "status": "cancelled"})
        masters.script = {"c": [httpx.WriteError], "a": [409, cancelled]}
        assert await c.cancel("j") == {"id": "j", "status": "cancelled"}
    assert masters.hosts()[:3] == ["a", "b", "c"]
