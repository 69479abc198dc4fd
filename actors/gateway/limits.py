"""HTTP hygiene no route has to think about: a request body has a deadline, and a 405 says
which methods the path does allow.

A client that sends its body a byte at a time (or opens a chunked body and
never ends it) would otherwise hold a connection, a task and a buffer for as
long as it likes; a hundred of them hold a hundred. :class:`BodyDeadline`
gives the whole body ``timeout_s`` from the moment the request's head has
arrived, and answers 408 when it runs out. hypercorn then closes the
connection, since the request it carried never finished (the answer says
``Connection: close`` too). Only the body is timed: once it is complete,
whatever the app waits for next (a disconnect, under a streamed answer) is
not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import trio
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyDeadline", "BodyTimeout", "allowed_methods"]


class BodyTimeout(Exception):
    """The request body did not arrive in time (raised out of the app's ``receive``)."""


class BodyDeadline:
    """ASGI middleware: 408 and a closed connection for a body not complete in time."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = trio.current_time() + self.timeout_s
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            with trio.move_on_at(deadline):
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body")
                return message
            raise BodyTimeout

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except BodyTimeout:
            if started:  # too late to answer: the connection ends with the app's error
                raise
            await self._timed_out(send)

    async def _timed_out(self, send: Send) -> None:
        body = json.dumps(
            {"error": f"the request body did not arrive within {self.timeout_s:g} s"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this request's path, for a 405's ``Allow``
    (Starlette names only the first route's, though several may share a path)."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)
