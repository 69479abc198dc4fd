"""The ceiling of HTTP submits on this machine: the node's HTTP stack with nothing behind it.

A node serves its API with hypercorn's trio worker and a Starlette app. To
know how much of an HTTP submit's cost is the server's own, ``python -m bench
submit --ceiling`` starts this module as a process serving ``POST
/api/v1/jobs`` with nothing behind it, and drives it with the very client
that measures the node:

- ``raw``: hypercorn and a bare ASGI callable that reads the body and answers
  201 with a fixed job (hypercorn's own cost per request);
- ``starlette``: hypercorn and a Starlette app whose one route parses the
  JSON body and answers with ``JSONResponse`` (what every podium route costs
  before podium does anything).

Each is reported as requests a second and the server's CPU per request.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from typing import Any

import trio

__all__ = ["KINDS", "serve_bare"]

KINDS = ("raw", "starlette")
ANSWER = {"id": "0192f0c4-5d4f-7b3e-9f1a-2c3d4e5f6a7b", "status": "pending"}
_ANSWER_BYTES = json.dumps(ANSWER, separators=(",", ":")).encode()

Scope = dict[str, Any]
Receive = Any
Send = Any


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every request 201 with the same job, after reading its body."""
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_ANSWER_BYTES)).encode()),
    ]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": _ANSWER_BYTES})


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def submit(request: Request) -> JSONResponse:
        json.loads(await request.body())
        return JSONResponse(ANSWER, status_code=201)

    return Starlette(routes=[Route("/api/v1/jobs", submit, methods=["POST"])])


def serve_bare(kind: str, port: int) -> subprocess.Popen[bytes]:
    """Start a bare server of ``kind`` on ``port`` in a process; returns once it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare_http", kind, str(port)])
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the bare {kind} server did not start") from None
            time.sleep(0.05)


def main(argv: list[str]) -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve

    kind, port = argv
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("bench.bare_http")
    app = raw_app if kind == "raw" else starlette_app()
    trio.run(serve, app, config)  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1:])
