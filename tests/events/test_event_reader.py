"""The event stream's reader: the one set of decisions the sync and async clients drive.

Pure parts first (which answer opens the stream, what a line yields, where the next
connection goes and from which event, when to give up); then both clients over one
scripted httpx transport, which must ask the very same requests.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx
import pytest

from client import AsyncClient, Client, PodiumError
from client.events import EVENTS_PATH, EventReader

URLS = ["http://m1:1", "http://m2:2"]


def reader(last_event_id: str | None = None) -> EventReader:
    return EventReader(URLS, {"type": "job"}, last_event_id, deadline_s=5, timeout=3, now=0)


def test_the_first_request_goes_to_the_first_address_with_the_filters_and_the_clients_timeout() -> (
    None
):
    request = reader().request("tok")
    assert request["url"] == "http://m1:1" + EVENTS_PATH
    assert request["params"] == {"type": "job"}
    assert request["headers"] == {"Accept": "text/event-stream", "Authorization": "Bearer tok"}
    assert request["timeout"] == httpx.Timeout(3, read=None)


def test_a_stream_resumes_at_the_next_address_from_the_last_event_seen() -> None:
    r = reader(last_event_id="1-0")
    assert r.request(None)["headers"]["Last-Event-ID"] == "1-0"
    assert r.opened(200, now=1)
    assert [r.feed(line) for line in ("id: 2-0", 'data: {"kind": "job.created"}')] == [None, None]
    assert r.feed("") == {"kind": "job.created", "id": "2-0"}
    assert r.feed(": ping") is None
    assert r.lost(now=2) == 0.1
    again = r.request(None)
    assert again["url"] == "http://m2:2" + EVENTS_PATH
    assert again["headers"]["Last-Event-ID"] == "2-0"


def test_a_refused_connection_is_not_the_stream_and_the_waits_double_until_one_opens() -> None:
    r = reader()
    assert not r.opened(503, now=0)
    assert [r.lost(now=t) for t in (0, 1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert r.opened(200, now=6)
    assert r.lost(now=7) == 0.1


def test_a_half_read_event_is_dropped_with_its_connection() -> None:
    r = reader()
    r.opened(200, now=0)
    r.feed('data: {"kind": "half"')
    r.lost(now=1)
    r.opened(200, now=1)
    assert r.feed('data: {"kind": "whole"}') is None
    assert r.feed("") == {"kind": "whole"}


def test_past_the_deadline_without_an_answer_the_reader_gives_up() -> None:
    r = reader()
    with pytest.raises(PodiumError, match="no master answered for 5s"):
        r.lost(now=5.5)


class Script:
    """m1 answers 503; m2 streams two events (the second's id resumes the next) and ends."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url.host), request.headers.get("last-event-id")))
        if request.url.host == "m1":
            return httpx.Response(503, json={"error": "no leader"})
        body = 'id: 3-0\ndata: {"n": 1}\n\n: ping\nid: 4-0\ndata: {"n": 2}\n\n'
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


EXPECTED_EVENTS = [{"n": 1, "id": "3-0"}, {"n": 2, "id": "4-0"}, {"n": 1, "id": "3-0"}]
# m1 refuses, m2 streams, m1 refuses again (from 4-0 now), m2 again
EXPECTED_REQUESTS = [("m1", "2-0"), ("m2", "2-0"), ("m1", "4-0"), ("m2", "4-0")]


def test_the_sync_client_drives_the_reader() -> None:
    script = Script()
    url = ",".join(URLS)
    with Client(url, transport=httpx.MockTransport(script)) as client:
        stream = client.events(last_event_id="2-0")
        events = [next(stream) for _ in range(3)]
    assert events == EXPECTED_EVENTS
    assert script.seen == EXPECTED_REQUESTS


async def test_the_async_client_drives_the_same_reader() -> None:
    script = Script()
    url = ",".join(URLS)
    client = AsyncClient(url, transport=httpx.MockTransport(script))
    stream = client.events(last_event_id="2-0")
    events: list[dict[str, Any]] = [await anext(stream) for _ in range(3)]
    await stream.aclose()
    await client.aclose()
    assert events == EXPECTED_EVENTS
    assert script.seen == EXPECTED_REQUESTS


def untrusted(request: httpx.Request) -> httpx.Response:
    """A master whose certificate does not verify: no later attempt can mend that."""
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    raise httpx.ConnectError("certificate verify failed", request=request) from error


def test_a_certificate_that_does_not_verify_ends_the_stream_at_once() -> None:
    with Client(URLS[0], transport=httpx.MockTransport(untrusted), retry_deadline_s=60) as client:
        started = time.monotonic()
        with pytest.raises(PodiumError, match="cannot verify the TLS certificate"):
            next(client.events())
        assert time.monotonic() - started < 1, "not retried until the deadline"


async def test_the_async_client_also_gives_up_on_an_untrusted_certificate_at_once() -> None:
    client = AsyncClient(URLS[0], transport=httpx.MockTransport(untrusted), retry_deadline_s=60)
    with pytest.raises(PodiumError, match="cannot verify the TLS certificate"):
        await anext(client.events())
    await client.aclose()
