"""The client's native transport: ``podium://host:port[,host:port...]``.

A client holds one connection to one master's cluster port (the ``--listen``
address) and speaks :mod:`transport.client_wire` over the cluster's framing:
its ``ClientHello`` carries the protocol version and the bearer token once,
and every call after the master's welcome is a ``ClientRequest`` with its own
request id, so any number of calls share the connection at once and their
answers come back in whatever order they finish.

No background task is needed, which is what lets the same code serve an
:class:`~client.api.AsyncClient` under trio or asyncio (through anyio) and a
sync :class:`~client.api.Client` (on a trio loop in a daemon thread, see
:class:`LoopThread`). A caller that finds no one reading the socket becomes
the reader until its own answer arrives, handing answers it reads for others
to their waiters, then passes the role on; a caller that finds no one writing
sends everything queued in one write. Writes are shielded from cancellation
(and bounded by the timeout), so a caller giving up never leaves half a frame
on the wire.

Several addresses: the client connects to the first that answers, and after
losing a connection starts from the next one. A call whose connection is
lost is sent again on the new connection when that is safe: when it never
left this process, when it is a read, or when it is a submit whose every job
carries an idempotency key (the cluster answers a repeated key with the job
it already made). Any other call in flight fails with ``PodiumError(503)``
saying its outcome is unknown, rather than risk doing it twice; the clients
of :mod:`client.api` then decide, call by call, how to send it again
(:mod:`client.failover`). A call that gets no answer in time drops its
connection too, since a frozen master (SIGSTOP, a long pause) keeps its
socket open and would hold every later call.

With TLS the cluster port wants mutual TLS, as between nodes: give ``tls=``
a :class:`TlsFiles` (the cluster CA and a certificate and key it signed, e.g.
from ``podium certs init --nodes alice``) or a ready ``ssl.SSLContext``.
"""

from __future__ import annotations

import itertools
import json
import ssl
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
import msgpack
import trio

from client.errors import PodiumError
from transport.client_wire import (
    CLIENT_PROTOCOL,
    ClientError,
    ClientHello,
    ClientJsonReply,
    ClientReply,
    ClientRequest,
    ClientWelcome,
    resent,
)
from transport.codec import DecodeError, Message, decode, encode
from transport.envelope import Hello
from transport.frames import FrameDecoder, FrameError, frame
from transport.tls import client_context

__all__ = ["SCHEME", "LoopThread", "NativeClient", "TlsFiles", "parse_addresses"]

SCHEME = "podium://"
_READ_SIZE = 65536
# connecting to one address gives up after this (the call's own timeout may be shorter)
CONNECT_TIMEOUT_S = 5.0

T = TypeVar("T")


@attrs.frozen
class TlsFiles:
    """The files a node's ``[tls]`` section names: the cluster CA, and this client's
    certificate and key, signed by that CA (the cluster port requires one)."""

    ca: Path = attrs.field(converter=Path)
    cert: Path = attrs.field(converter=Path)
    key: Path = attrs.field(converter=Path)

    def context(self) -> ssl.SSLContext:
        return client_context(ca=self.ca, cert=self.cert, key=self.key)


def parse_addresses(url: str) -> list[tuple[str, int]]:
    """``podium://h1:7001,h2:7002`` (or ``podium://h1:7001,podium://h2:7002``) ->
    [("h1", 7001), ("h2", 7002)]."""
    rest = url[len(SCHEME) :].strip("/")
    addresses = []
    for part in rest.split(","):
        part = part.strip().removeprefix(SCHEME).rstrip("/")
        host, sep, port = part.rpartition(":")
        if (
            not sep
            or not host
            or not (port.isascii() and port.isdigit())
            or not 0 < int(port) < 65536
        ):
            raise ValueError(f"{url!r}: each address must be host:port, got {part!r}")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


class _Lost(Exception):
    """The connection ended with a call on it; ``unsent``: the call never left."""

    def __init__(self, reason: str, *, unsent: bool) -> None:
        super().__init__(reason)
        self.unsent = unsent


class _Slot:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.reply: Message | None = None


class _Connection:
    """One connection to one master, with any number of calls in flight."""

    def __init__(
        self, stream: anyio.abc.ByteStream, node: str, decoder: FrameDecoder, timeout: float
    ) -> None:
        self.stream = stream
        self.node = node
        self.decoder = decoder
        self.timeout = timeout
        self.pending: dict[int, _Slot] = {}
        self.rids = itertools.count(1)
        self.outbox: list[bytes] = []
        self.writing = False
        self.reading = False
        self.lost: str | None = None

    async def request(self, op: Message) -> Message:
        if self.lost is not None:
            raise _Lost(self.lost, unsent=True)
        rid = next(self.rids)
        slot = self.pending[rid] = _Slot()
        data = frame(encode(ClientRequest(rid, op)))
        try:
            self.outbox.append(data)
            if not self.writing:
                await self._write()
            while slot.reply is None:
                if self.lost is not None:
                    raise _Lost(self.lost, unsent=any(d is data for d in self.outbox))
                if not self.reading:
                    await self._read_until(slot)
                else:
                    await slot.event.wait()
                    slot.event = anyio.Event()
            return slot.reply
        finally:
            del self.pending[rid]
            if not self.reading:
                self._hand_over()

    def _hand_over(self) -> None:
        """Wake one waiter to read for everyone (or all of them, once the connection is lost)."""
        for slot in self.pending.values():
            slot.event.set()
            if self.lost is None:
                return

    async def _write(self) -> None:
        self.writing = True
        try:
            while self.outbox and self.lost is None:
                data = b"".join(self.outbox)
                self.outbox.clear()
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(self.timeout) as waited:
                        await self.stream.send(data)
                if waited.cancelled_caught:
                    await self._fail(f"no write to {self.node} in {self.timeout:g} s")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            await self._fail(f"write to {self.node} failed: {exc!r}")
        finally:
            self.writing = False

    async def _read_until(self, slot: _Slot) -> None:
        self.reading = True
        try:
            while slot.reply is None and self.lost is None:
                try:
                    data = await self.stream.receive(_READ_SIZE)
                    for body in self.decoder.feed(data):
                        self._dispatch(decode(body))
                except anyio.EndOfStream:
                    await self._fail(f"master {self.node} closed the connection")
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
                    await self._fail(f"connection to {self.node} lost: {exc!r}")
                except (FrameError, DecodeError) as exc:
                    await self._fail(f"master {self.node} sent a bad frame: {exc}")
        finally:
            self.reading = False
            self._hand_over()

    def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, ClientReply | ClientJsonReply | ClientError):
            slot = self.pending.get(msg.rid)
            if slot is not None:  # else its caller gave up
                slot.reply = msg
                slot.event.set()
            elif msg.rid == 0 and isinstance(msg, ClientError):
                raise DecodeError(f"the master ended the session: {msg.status} {msg.message}")
        else:
            raise DecodeError(f"unexpected {type(msg).__name__} frame")

    async def _fail(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
            for slot in self.pending.values():
                slot.event.set()
        with anyio.CancelScope(shield=True):
            await anyio.aclose_forcefully(self.stream)

    async def aclose(self) -> None:
        await self._fail("the client closed the connection")


def _value(reply: Message) -> Any:
    if isinstance(reply, ClientReply):
        return msgpack.unpackb(reply.value, raw=False)
    if isinstance(reply, ClientJsonReply):
        return json.loads(reply.json)
    assert isinstance(reply, ClientError)
    raise PodiumError(reply.status, reply.message)


class NativeClient:
    """Calls over the native protocol to any of ``url``'s masters (async; see module doc)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        timeout: float,
        tls: TlsFiles | ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.addresses = parse_addresses(url)
        self.token = token
        self.timeout = timeout
        self._ssl = tls.context() if isinstance(tls, TlsFiles) else tls
        self._conn: _Connection | None = None
        self._connecting: anyio.Event | None = None
        self._next = 0

    async def call(self, op: Message, *, repeatable: bool, timeout: float | None = None) -> Any:
        """One call within ``timeout`` (default: the client's); sent again after a lost
        connection only if ``repeatable`` or unsent. A master that answers nothing in time
        may be frozen, so its connection is dropped and the next call dials the next one."""
        limit = self.timeout if timeout is None else timeout
        lost: list[str] = []
        conn: _Connection | None = None
        try:
            with anyio.fail_after(limit):
                while True:
                    conn = await self._connection()
                    try:
                        return _value(await conn.request(op))
                    except _Lost as exc:
                        self._forget(conn)
                        lost.append(str(exc))
                        if not exc.unsent:
                            op = resent(op)
                        if (exc.unsent or repeatable) and len(lost) <= 2 * len(self.addresses):
                            continue
                        raise PodiumError(
                            503,
                            f"{exc}; the request was in flight, so whether it was applied is "
                            "unknown (give jobs an idempotency_key to make submits safe to "
                            "send again)",
                        ) from None
        except TimeoutError:
            if conn is not None and conn.lost is None:
                self._forget(conn)
                await conn.aclose()
            raise PodiumError(
                503,
                f"no answer from {self.url} within {limit:g} s; the request may still "
                "apply" + (f" (lost: {'; '.join(lost)})" if lost else ""),
            ) from None

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.aclose()

    def _forget(self, conn: _Connection) -> None:
        if self._conn is conn:
            self._conn = None
            # the master that dropped us is the least likely to answer next
            self._next = (self._next + 1) % len(self.addresses)

    async def _connection(self) -> _Connection:
        while True:
            conn = self._conn
            if conn is not None and conn.lost is None:
                return conn
            if self._connecting is not None:
                await self._connecting.wait()
                continue
            self._connecting = connecting = anyio.Event()
            try:
                self._conn = await self._dial()
            finally:
                self._connecting = None
                connecting.set()

    async def _dial(self) -> _Connection:
        errors = []
        start = self._next
        for n in range(len(self.addresses)):
            index = (start + n) % len(self.addresses)
            host, port = self.addresses[index]
            # a dial cut short here (the call's own timeout, at a frozen master that accepts
            # and never welcomes) must not make the next dial start at the same master
            self._next = (index + 1) % len(self.addresses)
            try:
                with anyio.fail_after(min(CONNECT_TIMEOUT_S, self.timeout)):
                    conn = await self._open(host, port)
            except (OSError, TimeoutError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
                errors.append(f"{host}:{port}: {exc!r}")
                continue
            except (FrameError, DecodeError) as exc:
                errors.append(f"{host}:{port}: not a podium master ({exc})")
                continue
            self._next = index
            return conn
        raise PodiumError(0, f"cannot reach any master of {self.url}: {'; '.join(errors)}")

    async def _open(self, host: str, port: int) -> _Connection:
        stream: anyio.abc.ByteStream
        if self._ssl is not None:
            stream = await anyio.connect_tcp(
                host, port, ssl_context=self._ssl, tls_standard_compatible=False
            )
        else:
            stream = await anyio.connect_tcp(host, port)
        try:
            await stream.send(frame(encode(ClientHello(CLIENT_PROTOCOL, self.token or ""))))
            decoder = FrameDecoder()
            while True:
                for body in decoder.feed(await stream.receive(_READ_SIZE)):
                    msg = decode(body)
                    if isinstance(msg, ClientWelcome):
                        return _Connection(stream, msg.node, decoder, self.timeout)
                    if isinstance(msg, ClientError):
                        raise PodiumError(msg.status, msg.message)
                    if not isinstance(msg, Hello):  # every accepted connection opens with one
                        raise DecodeError(f"unexpected {type(msg).__name__} frame")
        except BaseException:
            await anyio.aclose_forcefully(stream)
            raise


class LoopThread:
    """A trio event loop on a daemon thread, so sync callers (from any thread) can share
    one native connection: each call runs there as its own task, so calls from several
    threads are in flight together."""

    def __init__(self) -> None:
        self._started = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="podium-native", daemon=True)
        self._thread.start()
        self._started.wait()

    def _main(self) -> None:
        trio.run(self._serve)

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        self._started.set()
        await self._stop.wait()

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return trio.from_thread.run(fn, *args, trio_token=self._token)

    def close(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            self._thread.join()
