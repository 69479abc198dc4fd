"""HTTP hygiene: slow bodies get 408 and a closed connection (on a real socket, through
hypercorn, as a node serves), a 405 names the allowed methods, and the cursor the OpenAPI
document describes is the cursor the server takes."""

from __future__ import annotations

import re

import pytest
import trio

from actors.gateway.openapi import CURSOR_PATTERN, OPENAPI
from tests.gateway.api import running_api, served

BODY_TIMEOUT_S = 1.0
HEAD = (
    b"POST /api/v1/jobs HTTP/1.1\r\nHost: podium\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


async def read_until_closed(stream: trio.SocketStream, limit_s: float) -> bytes:
    """Everything the server sends until it closes the connection (at most ``limit_s``)."""
    received = bytearray()
    with trio.fail_after(limit_s):
        while chunk := await stream.receive_some(65536):
            received += chunk
    return bytes(received)


async def trickle(address: tuple[str, int], body: bytes, every_s: float) -> bytes:
    """A chunked body sent a byte per ``every_s`` (as long as the server listens); returns
    what the server answered before it closed the connection."""
    stream = await trio.open_tcp_stream(*address)
    answer = b""
    async with stream, trio.open_nursery() as nursery:

        async def send_slowly() -> None:
            try:
                await stream.send_all(HEAD)
                for byte in body:
                    await stream.send_all(b"1\r\n" + bytes([byte]) + b"\r\n")
                    await trio.sleep(every_s)
                await stream.send_all(b"0\r\n\r\n")
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the server hung up on us, as it should

        nursery.start_soon(send_slowly)
        answer = await read_until_closed(stream, limit_s=BODY_TIMEOUT_S + 10)
        nursery.cancel_scope.cancel()
    return answer


async def test_slow_bodies_get_408_and_the_connection_closes() -> None:
    async with (
        running_api(worker=False, body_timeout_s=BODY_TIMEOUT_S) as api,
        served(api) as address,
    ):
        start = trio.current_time()
        answers: list[bytes] = []

        async def one() -> None:
            answers.append(await trickle(address, b'{"type": "noop"}', every_s=1.0))

        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(one)
        took = trio.current_time() - start
        assert len(answers) == 20
        for answer in answers:
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), answer
            assert b"connection: close" in head.lower()
            assert b"did not arrive within 1 s" in body
        # every one closed at its deadline, none held until its body would have ended (16 s)
        assert took < BODY_TIMEOUT_S + 5, took
        # a body that arrives in time (slowly) is served, and the node still serves
        in_time = await trickle(address, b'{"type": "noop"}', every_s=0.01)
        assert in_time.startswith(b"HTTP/1.1 201"), in_time
        assert (await api.client.get("/health")).status_code == 200


async def test_a_body_that_never_starts_gets_408() -> None:
    async with (
        running_api(worker=False, body_timeout_s=BODY_TIMEOUT_S) as api,
        served(api) as address,
    ):
        stream = await trio.open_tcp_stream(*address)
        async with stream:
            await stream.send_all(
                b"POST /api/v1/jobs/batch HTTP/1.1\r\nHost: podium\r\nContent-Length: 50\r\n\r\n"
            )
            answer = await read_until_closed(stream, limit_s=BODY_TIMEOUT_S + 5)
        assert answer.startswith(b"HTTP/1.1 408"), answer


ALLOWED = [
    ("DELETE", "/api/v1/jobs", "GET, HEAD, POST"),
    ("PUT", "/api/v1/jobs/some-id", "DELETE, GET, HEAD"),
    ("GET", "/auth/login", "POST"),
    ("GET", "/api/v1/jobs/some-id/cancel", "POST"),
    ("POST", "/health", "GET, HEAD"),
]


@pytest.mark.parametrize(("method", "path", "allow"), ALLOWED)
async def test_405_names_every_allowed_method(method: str, path: str, allow: str) -> None:
    async with running_api(worker=False) as api:
        answer = await api.client.request(method, path)
        assert answer.status_code == 405
        assert answer.headers["allow"] == allow
        assert "not allowed" in answer.json()["error"]
        # the Allow header's methods are the ones the OpenAPI document gives the path
        documented = {m.upper() for m in OPENAPI["paths"][_template(path)]}
        assert documented == set(allow.split(", ")) - {"HEAD"}


def _template(path: str) -> str:
    return re.sub(r"/jobs/some-id", "/jobs/{job_id}", path)


async def test_the_cursor_is_what_the_openapi_document_says() -> None:
    [cursor_param] = [
        p for p in OPENAPI["paths"]["/api/v1/jobs"]["get"]["parameters"] if p["name"] == "cursor"
    ]
    assert cursor_param["schema"]["pattern"] == CURSOR_PATTERN
    async with running_api(worker=False) as api:
        c = api.client
        for _ in range(3):
            assert (await c.post("/api/v1/jobs", json={"type": "noop", "delay_s": 600})).is_success
        first = await c.get("/api/v1/jobs", params={"cursor": "", "limit": 2})
        assert first.status_code == 200 and len(first.json()["jobs"]) == 2
        handed_out = first.json()["cursor"]
        assert re.fullmatch(CURSOR_PATTERN, handed_out)
        rest = await c.get("/api/v1/jobs", params={"cursor": handed_out, "limit": 2})
        assert rest.status_code == 200 and len(rest.json()["jobs"]) == 1
        # whatever the pattern admits is taken, whatever it refuses is a 400
        for text in ("", "s0", "sff", "s" + "f" * 15, "s", "abc", "S1", "s-1", "s 1", "s1_0",
                     "s" + "f" * 16, "sG"):  # fmt: skip
            answer = await c.get("/api/v1/jobs", params={"cursor": text})
            admitted = re.fullmatch(CURSOR_PATTERN, text) is not None
            assert answer.status_code == (200 if admitted else 400), (text, answer.text)
