"""The gateway's side of the native client protocol (:mod:`transport.client_wire`).

The node's transport hands over every connection whose first frame is a
``ClientHello`` (see :mod:`transport.tcp`); :class:`NativeSessions` serves it
until it ends and returns why, which the transport logs as it logs a peer's
closed connection.

A session checks the hello once: the protocol version, then the bearer token
through the same :class:`~actors.gateway.auth.Authenticator` as HTTP (a bad
token is audited, answered with a 401 error frame and the connection
closed). The token is checked again at most once a second while the session
lasts, so an expired token stops working as it would over HTTP. Each
request then runs in its own task through :class:`~actors.gateway.app.Service`,
the very operations the HTTP routes call, with the permission table of the
HTTP routes, so the two protocols cannot disagree on what is allowed or what
an error says. Requests beyond ``max_open`` unanswered ones wait before the
next frame is read, so a client that sends faster than it reads pushes back
on its own socket, never on the node's memory.

Replies go through one writer per connection that sends everything queued in
one ``send_all``, as the cluster transport's links do. A frame that does not
decode, or a frame of the wrong kind, ends the session with a logged reason;
a request whose operation fails in a way the API does not refuse (a bug) is
answered 500 and logged, and the session and the node go on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import trio

from actors.gateway.app import REFUSALS, Service, refusal
from actors.gateway.auth import Principal, Unauthorized
from actors.gateway.http_common import Answer
from actors.gateway.validation import BadRequest
from transport.client_wire import (
    CLIENT_PROTOCOL,
    CLIENT_PROTOCOLS_SPOKEN,
    CancelOp,
    ClientError,
    ClientHello,
    ClientJsonReply,
    ClientReply,
    ClientRequest,
    ClientWelcome,
    ClusterOp,
    DeleteOp,
    GetManyOp,
    GetOp,
    ListOp,
    PurgeOp,
    RetryOp,
    StatsOp,
    SubmitBatchOp,
    SubmitOp,
    WorkersOp,
)
from transport.codec import DecodeError, Message, decode, encode, packer
from transport.control_wire import (
    CancelManyOp,
    ClearLimitOp,
    LimitsOp,
    PauseTypeOp,
    ResumeTypeOp,
    SetLimitOp,
)
from transport.frames import FrameDecoder, FrameError, frame
from transport.schedule_requests import (
    ScheduleAddOp,
    ScheduleDeleteOp,
    ScheduleGetOp,
    ScheduleListOp,
    SchedulePauseOp,
    ScheduleResumeOp,
)
from transport.tcp import peer_address

log = logging.getLogger("podium.gateway")

__all__ = ["NativeSessions"]

# how long an accepted token is trusted before it is checked again (expiry, user removed)
RECHECK_S = 1.0
_READ_SIZE = 65536


def _unpack(service: Service, data: bytes) -> Any:
    """A body the client packed: JSON-like values only, within the size an HTTP body may
    have."""
    service.gateway.check_size(len(data))
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types for garbage
        raise BadRequest(f"body is not valid msgpack: {exc}") from None
    _check_json_like(value, "body")
    return value


def _check_json_like(value: Any, where: str) -> None:
    """Bytes and msgpack extension types have no JSON form; the master renders jobs as
    JSON, so they are refused here, as JSON itself would never have carried them."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise BadRequest(f"{where}: keys must be strings, got {type(key).__name__}")
            _check_json_like(item, f"{where}.{key}")
    elif kind is list:
        for n, item in enumerate(value):
            _check_json_like(item, f"{where}[{n}]")
    elif kind is float:
        if not math.isfinite(value):
            raise BadRequest(f"{where}: {value!r} has no JSON form")
    elif value is not None and kind not in (str, int, bool):
        raise BadRequest(f"{where}: a {kind.__name__} has no JSON form")


def _query(op: ListOp) -> dict[str, str]:
    """The list operation as the query string ``GET /api/v1/jobs`` would carry it."""
    fields = {
        "status": op.status,
        "type": op.type,
        "limit": str(op.limit),
        "cursor": op.cursor,
        "order": op.order,
        "since": op.since,
        "until": op.until,
    }
    return {k: v for k, v in fields.items() if v is not None}


Run = Callable[[Service, Principal, Any], Awaitable[Answer]]

# each operation: the HTTP route it stands for (its permission and audit name), and how
# it runs on the service
OPERATIONS: dict[type[Message], tuple[str, Run]] = {
    SubmitOp: ("POST /api/v1/jobs", lambda s, who, op: s.submit(who, _unpack(s, op.job))),
    SubmitBatchOp: (
        "POST /api/v1/jobs/batch",
        lambda s, who, op: s.submit_batch(who, _unpack(s, op.batch)),
    ),
    GetOp: ("GET /api/v1/jobs/{job_id}", lambda s, who, op: s.get_job(who, op.id, op.stale)),
    GetManyOp: (
        "POST /api/v1/jobs/status",
        lambda s, who, op: s.get_jobs(who, {"ids": list(op.ids)}, op.stale),
    ),
    ListOp: ("GET /api/v1/jobs", lambda s, who, op: s.list_jobs(who, _query(op), op.stale)),
    CancelOp: ("POST /api/v1/jobs/{job_id}/cancel", lambda s, who, op: s.cancel(who, op.id)),
    RetryOp: ("POST /api/v1/jobs/{job_id}/retry", lambda s, who, op: s.retry(who, op.id)),
    DeleteOp: ("DELETE /api/v1/jobs/{job_id}", lambda s, who, op: s.delete(who, op.id)),
    PurgeOp: ("POST /api/v1/jobs/purge", lambda s, who, op: s.purge(who, _unpack(s, op.body))),
    StatsOp: ("GET /api/v1/stats", lambda s, who, op: s.stats(op.stale)),
    WorkersOp: ("GET /api/v1/workers", lambda s, who, op: s.workers(op.stale)),
    ClusterOp: ("GET /api/v1/cluster", lambda s, who, op: s.cluster()),
    CancelManyOp: (
        "POST /api/v1/jobs/cancel",
        lambda s, who, op: s.cancel_many(who, _unpack(s, op.body)),
    ),
    LimitsOp: ("GET /api/v1/limits", lambda s, who, op: s.limits(op.stale)),
    SetLimitOp: (
        "PUT /api/v1/limits/{type}",
        lambda s, who, op: s.set_limit(who, op.type, _unpack(s, op.body)),
    ),
    ClearLimitOp: ("DELETE /api/v1/limits/{type}", lambda s, who, op: s.clear_limit(who, op.type)),
    PauseTypeOp: (
        "POST /api/v1/types/{type}/pause",
        lambda s, who, op: s.pause_type(who, op.type, True),
    ),
    ResumeTypeOp: (
        "POST /api/v1/types/{type}/resume",
        lambda s, who, op: s.pause_type(who, op.type, False),
    ),
    ScheduleAddOp: (
        "POST /api/v1/schedules",
        lambda s, who, op: s.schedules.add(who, _unpack(s, op.body)),
    ),
    ScheduleListOp: ("GET /api/v1/schedules", lambda s, who, op: s.schedules.list(who, op.stale)),
    ScheduleGetOp: (
        "GET /api/v1/schedules/{name}",
        lambda s, who, op: s.schedules.get(who, op.name, op.stale),
    ),
    ScheduleDeleteOp: (
        "DELETE /api/v1/schedules/{name}",
        lambda s, who, op: s.schedules.delete(who, op.name),
    ),
    SchedulePauseOp: (
        "POST /api/v1/schedules/{name}/pause",
        lambda s, who, op: s.schedules.pause(who, op.name),
    ),
    ScheduleResumeOp: (
        "POST /api/v1/schedules/{name}/resume",
        lambda s, who, op: s.schedules.resume(who, op.name),
    ),
}


class NativeSessions:
    """The transport's client handler: one :class:`_Session` per connection."""

    def __init__(self, service: Service, *, max_open: int = 4096) -> None:
        self.service = service
        self.max_open = max_open

    async def __call__(
        self,
        stream: trio.abc.Stream,
        hello: ClientHello,
        decoder: FrameDecoder,
        frames: list[bytes],
    ) -> str:
        return await _Session(self, stream).run(hello, decoder, frames)


class _Session:
    def __init__(self, owner: NativeSessions, stream: trio.abc.Stream) -> None:
        self.service = owner.service
        self.auth = owner.service.auth
        self.max_open = owner.max_open
        self.stream = stream
        self.remote = peer_address(stream)
        self.token = ""
        self.who: Principal | None = None
        self.checked_at = 0.0
        self.queue: list[bytes] = []
        self.has_data = trio.Event()
        # requests read and not yet answered on the wire
        self.open = 0
        self.room = trio.Event()
        self.ended: str | None = None

    async def run(self, hello: ClientHello, decoder: FrameDecoder, frames: list[bytes]) -> str:
        refused = self._welcome(hello)
        if refused is not None:
            status, message = refused
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                await self.stream.send_all(frame(encode(ClientError(0, status, message))))
            return f"client refused: {message}"
        self._queue(ClientWelcome(self.service.gateway.system.node))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer, nursery.cancel_scope)
            ended = await self._reader(nursery, decoder, frames)
            self.ended = self.ended or ended
            nursery.cancel_scope.cancel()
        return self.ended

    def _welcome(self, hello: ClientHello) -> tuple[int, str] | None:
        if hello.version not in CLIENT_PROTOCOLS_SPOKEN:
            return 400, (
                f"client protocol {hello.version} is not spoken here (this master speaks "
                f"up to {CLIENT_PROTOCOL}): upgrade the client or the cluster"
            )
        self.token = hello.token
        try:
            self.who = self._principal("native hello")
        except Unauthorized as exc:
            return 401, str(exc)
        return None

    def _principal(self, what: str) -> Principal:
        """Who this session speaks for, checking the token again once it is a second old."""
        now = trio.current_time()
        if self.who is None or now >= self.checked_at + RECHECK_S:
            header = f"Bearer {self.token}" if self.token else None
            self.who = None
            self.who = self.auth.admit(header, what, self.remote)
            self.checked_at = now
        return self.who

    # -- reading and running requests ----------------------------------------------------

    async def _reader(
        self, nursery: trio.Nursery, decoder: FrameDecoder, frames: list[bytes]
    ) -> str:
        try:
            while True:
                # the submits of one read go to the service together (one task, one batch)
                submits: list[tuple[int, SubmitOp]] = []
                for body in frames:
                    msg = decode(body)
                    if not isinstance(msg, ClientRequest):
                        return f"bad input: unexpected {type(msg).__name__} frame from a client"
                    operation = OPERATIONS.get(type(msg.op))
                    if operation is None:
                        return f"bad input: {type(msg.op).__name__} is not a client operation"
                    while self.open >= self.max_open:
                        await self.room.wait()
                        self.room = trio.Event()
                    self.open += 1
                    if isinstance(msg.op, SubmitOp):
                        submits.append((msg.rid, msg.op))
                    else:
                        nursery.start_soon(self._serve, msg.rid, msg.op, *operation)
                if submits:
                    nursery.start_soon(self._serve_submits, submits)
                data = await self.stream.receive_some(_READ_SIZE)
                if not data:
                    if decoder.buffered:
                        return f"truncated frame ({decoder.buffered} bytes left)"
                    return "closed by client"
                frames = decoder.feed(data)
        except (FrameError, DecodeError) as exc:
            return f"bad input: {exc}"
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as exc:
            return f"connection lost: {exc}"

    async def _serve(self, rid: int, op: Message, what: str, run: Run) -> None:
        try:
            who = self._principal(what)
            self.service.authorize(who, what)
            answer: Answer | Exception = await run(self.service, who, op)
        except Exception as exc:
            answer = exc
        self._queue(self._reply(rid, answer, what))

    async def _serve_submits(self, submits: list[tuple[int, SubmitOp]]) -> None:
        what = "POST /api/v1/jobs"
        results: list[Answer | Exception]
        try:
            who = self._principal(what)
            self.service.authorize(who, what)
            bodies: list[Any] = []
            for _, op in submits:
                try:
                    bodies.append(_unpack(self.service, op.job))
                except REFUSALS as exc:
                    bodies.append(exc)
            fresh = {n for n, (_, op) in enumerate(submits) if op.fresh}
            results = list(await self.service.submit_each(who, bodies, fresh=fresh))
        except Exception as exc:
            results = [exc] * len(submits)
        for (rid, _), result in zip(submits, results, strict=True):
            self._queue(self._reply(rid, result, what))

    def _reply(self, rid: int, answer: Answer | Exception, what: str) -> Message:
        if isinstance(answer, Answer):
            if answer.json is not None:
                return ClientJsonReply(rid, answer.json)
            return ClientReply(rid, packer().pack(answer.value))
        if isinstance(answer, Unauthorized):
            return ClientError(rid, 401, str(answer))
        if isinstance(answer, REFUSALS):
            status, message = refusal(answer)
            return ClientError(rid, status, message)
        log.error(
            "native request failed",
            exc_info=answer,
            extra={"request": what, "remote": self.remote},
        )
        return ClientError(rid, 500, f"internal error: {type(answer).__name__}")

    # -- writing ---------------------------------------------------------------------------

    def _queue(self, msg: Message) -> None:
        self.queue.append(frame(encode(msg)))
        self.has_data.set()

    async def _writer(self, scope: trio.CancelScope) -> None:
        """Send everything queued in one write; requests answered on the wire free room."""
        replies_only = False
        while True:
            await self.has_data.wait()
            self.has_data = trio.Event()
            batch, self.queue = self.queue, []
            try:
                await self.stream.send_all(b"".join(batch))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self.ended = f"connection lost: {exc}"
                scope.cancel()
                return
            # the first batch starts with the welcome, which answers no request
            self.open -= len(batch) if replies_only else len(batch) - 1
            replies_only = True
            self.room.set()
