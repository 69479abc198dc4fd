"""The clients' job-output reads use the client's own timeout and its own error mapping,
the same as every other call (a refusal is the body's ``error``, else its text)."""

from __future__ import annotations

import httpx
import pytest

from client import AsyncClient, Client, PodiumError

URL = "http://m1:1"


class Output:
    """Job ``ok`` has output; any other job is the API's JSON 404; ``plain`` a text 502."""

    def __init__(self) -> None:
        self.timeouts: list[dict[str, float | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(request.extensions["timeout"])
        job = request.url.path.split("/")[4]
        if job == "ok":
            return httpx.Response(200, text="hello\nworld\n")
        if job == "plain":
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(404, json={"error": f"job {job!r} not found"})


def whole(timeout: float) -> dict[str, float | None]:
    return {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}


def follow(timeout: float) -> dict[str, float | None]:
    return {**whole(timeout), "read": None}


def test_the_sync_client_reads_output_with_its_own_timeout_and_errors() -> None:
    script = Output()
    with Client(URL, timeout=7, transport=httpx.MockTransport(script)) as client:
        assert client.logs("ok") == "hello\nworld\n"
        assert "".join(client.follow_logs("ok")) == "hello\nworld\n"
        with pytest.raises(PodiumError) as missing:
            client.logs("gone")
        with pytest.raises(PodiumError) as followed:
            list(client.follow_logs("gone"))
        with pytest.raises(PodiumError) as plain:
            client.logs("plain")
    assert (missing.value.status, missing.value.message) == (404, "job 'gone' not found")
    assert (followed.value.status, followed.value.message) == (404, "job 'gone' not found")
    assert (plain.value.status, plain.value.message) == (502, "bad gateway")
    assert script.timeouts[:2] == [whole(7), follow(7)]


async def test_the_async_client_reads_output_with_its_own_timeout_and_errors() -> None:
    script = Output()
    client = AsyncClient(URL, timeout=4, transport=httpx.MockTransport(script))
    assert await client.logs("ok") == "hello\nworld\n"
    assert "".join([text async for text in client.follow_logs("ok")]) == "hello\nworld\n"
    with pytest.raises(PodiumError) as followed:
        [text async for text in client.follow_logs("gone")]
    await client.aclose()
    assert (followed.value.status, followed.value.message) == (404, "job 'gone' not found")
    assert script.timeouts[:2] == [whole(4), follow(4)]


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def test_a_master_that_cannot_be_reached_is_the_clients_error_not_httpx() -> None:
    with Client(URL, transport=httpx.MockTransport(refused)) as client:
        with pytest.raises(PodiumError, match="cannot reach http://m1:1"):
            client.logs("ok")
        with pytest.raises(PodiumError, match="cannot reach http://m1:1"):
            list(client.follow_logs("ok"))


async def test_the_async_client_says_the_same_when_no_master_answers() -> None:
    async with AsyncClient(URL, transport=httpx.MockTransport(refused)) as client:
        with pytest.raises(PodiumError, match="cannot reach http://m1:1"):
            await client.logs("ok")
        with pytest.raises(PodiumError, match="cannot reach http://m1:1"):
            [text async for text in client.follow_logs("ok")]
