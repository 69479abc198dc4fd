"""Reading ``GET /api/v1/events``: the server-sent events parser and the reconnect rule.

:class:`SseParser` turns the stream's lines into parsed events (the JSON of
each ``data`` line). :class:`Resume` is what a client keeps across
connections: the last id seen, sent back as ``Last-Event-ID`` so that the
next master (any of them) resumes without a gap or a repeat, and how long
to wait before the next try. :class:`EventReader` holds both for one
stream and makes every decision of the reading loop (what to ask, which
answer opens the stream, what a line yields, how long to wait or whether to
give up), so :meth:`client.api.Client.events` and its async twin only move
bytes. All three are pure.

The stream is HTTP only: over ``podium://`` the client raises at once
(:data:`NATIVE_REFUSAL`), since a long-lived stream would hold a slot of
the multiplexed native connection for ever.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from client.errors import PodiumError
from client.responses import stream_timeout

__all__ = ["EVENTS_PATH", "NATIVE_REFUSAL", "EventReader", "Resume", "SseParser", "event_params"]

EVENTS_PATH = "/api/v1/events"

NATIVE_REFUSAL = (
    "the events stream is served over HTTP only: give the masters' HTTP addresses "
    "(http://host:port,...) for events"
)
# waits between reconnects: from the first to the last, doubling
FIRST_WAIT_S = 0.1
LAST_WAIT_S = 2.0


class SseParser:
    """Lines in (without their line ends), events out."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> dict[str, Any] | None:
        """The event a blank line completes, if any."""
        if line == "":
            data, self._data = self._data, []
            if not data:
                return None
            event: dict[str, Any] = json.loads("\n".join(data))
            if self._id is not None:
                event.setdefault("id", self._id)
            self._id = None
            return event
        if line.startswith(":"):  # a comment: the server's keep-alive ping
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


def event_params(type: str | None, job: str | None, status: str | None) -> dict[str, str]:
    """The query of a stream's filters (``type`` may be comma-separated)."""
    given = {"type": type, "job": job, "status": status}
    return {name: value for name, value in given.items() if value is not None}


class Resume:
    """Where a reader is: the last event id, the next address, the next wait, and since
    when no master has answered (past ``deadline_s`` of that, the reader gives up)."""

    def __init__(
        self, addresses: int, last_event_id: str | None, deadline_s: float, now: float
    ) -> None:
        self.addresses = addresses
        self.index = 0
        self.last_event_id = last_event_id
        self.deadline_s = deadline_s
        self.wait_s = FIRST_WAIT_S
        self.answered_at = now
        # a connection is open and streaming: a master answers for as long as it lasts
        self.streaming = False

    def headers(self, token: str | None) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def connected(self, now: float) -> None:
        self.answered_at = now
        self.wait_s = FIRST_WAIT_S
        self.streaming = True

    def saw(self, event: dict[str, Any]) -> None:
        event_id = event.get("id")
        if isinstance(event_id, str):
            self.last_event_id = event_id

    def lost(self, now: float) -> float | None:
        """The connection ended or failed: move to the next address; the wait before
        trying it, or None when no master has answered for ``deadline_s``: counted from
        when the last open stream ended, however long it lasted."""
        if self.streaming:
            self.streaming = False
            self.answered_at = now
        if now - self.answered_at > self.deadline_s:
            return None
        self.index = (self.index + 1) % self.addresses
        wait, self.wait_s = self.wait_s, min(self.wait_s * 2, LAST_WAIT_S)
        return wait


class EventReader:
    """One event stream across its connections: a sync or async loop asks :meth:`request`
    for the next connection, tells :meth:`opened` its status, gives :meth:`feed` its lines
    and, when it ends or fails, sleeps for what :meth:`lost` answers."""

    def __init__(
        self,
        urls: Sequence[str],
        params: dict[str, str],
        last_event_id: str | None,
        deadline_s: float,
        timeout: float,
        now: float,
    ) -> None:
        """``urls``: the masters' HTTP bases; ``deadline_s``: how long without an answer
        before giving up; ``timeout``: the client's, to connect."""
        self.urls = list(urls)
        self.params = params
        self.timeout = timeout
        self.resume = Resume(len(self.urls), last_event_id, deadline_s, now)
        self.parser = SseParser()

    def request(self, token: str | None) -> dict[str, Any]:
        """The httpx ``stream`` arguments of the next connection: the next address, from
        the last event seen."""
        return {
            "method": "GET",
            "url": self.urls[self.resume.index] + EVENTS_PATH,
            "params": self.params,
            "headers": self.resume.headers(token),
            "timeout": stream_timeout(self.timeout),
        }

    def opened(self, status: int, now: float) -> bool:
        """Whether a connection answering ``status`` is the stream (a 200); if so it is
        read from a clean parser, and the waits start short again."""
        if status != 200:
            return False
        self.resume.connected(now)
        self.parser = SseParser()
        return True

    def feed(self, line: str) -> dict[str, Any] | None:
        """The event ``line`` completes, if any (remembered as the place to resume from)."""
        event = self.parser.feed(line)
        if event is not None:
            self.resume.saw(event)
        return event

    def lost(self, now: float) -> float:
        """The connection ended or failed: the seconds to wait before the next one.
        Raises :class:`PodiumError` once no master has answered for ``deadline_s``."""
        wait = self.resume.lost(now)
        if wait is None:
            raise PodiumError(0, f"no master answered for {self.resume.deadline_s:g}s")
        return wait
