"""The real network: length-prefixed msgpack frames over TCP (optionally TLS) on trio.

Each peer has one :class:`_Link`: a bounded queue of encoded frames and one
writer task that drains the whole queue into a single ``send_all``, so a burst
of messages costs one syscall, not one per message. A link's connection may be
one this node dialed or one the peer dialed; replies to a node that only ever
called us (a worker behind NAT, say) go back over its own connection.

Both sides open a connection with a :class:`Hello` naming themselves. When
two nodes dial each other at once, the connection dialed by the smaller node
id wins and the other is closed, so a pair settles on one connection. A node
dialed by address (a worker knows its masters only as ``host:port``) is also
reachable by the name its Hello gave, once connected.

The same port serves native clients (:mod:`transport.client_wire`): a
connection whose first frame is a ``ClientHello`` rather than a ``Hello`` is
handed, with the decoder and any frames already read behind the hello, to the
client handler the node plugged in with :meth:`TcpTransport.accept_clients`.
The transport knows nothing of what a client asks; it only tells a client
from a peer. One port rather than two, because a client then needs only the
addresses a worker is given (``--masters``), and TLS works the same way for
both: a client must present a certificate signed by the cluster's CA, as a
peer must, so one refusal rule guards the port. A node with no handler (a
worker) closes a client's connection like any other bad first frame.

Node ids are unique: a connection whose Hello names a node already connected
from another live process (another ``instance``, and the current connection
heard from within :data:`LIVE_S`) is answered with :class:`Refused` and
closed, and the connection already there is left alone. The refused side
dials again for :data:`REFUSED_FOR_S` (a process restarted quickly may reach
the other end before its old connection's close does) and then gives up
through ``on_refused``, which the node turns into an exit with code 2.

Anything malformed on a connection (a truncated or oversized frame, garbage,
an unknown tag or version, a first frame that is not Hello, a failed TLS
handshake) closes that connection with a logged reason; the node and its
other connections carry on.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping

import trio

from transport.base import Deliver
from transport.client_wire import ClientHello
from transport.codec import DecodeError, decode, encode
from transport.envelope import Envelope, Hello, Refused
from transport.frames import MAX_FRAME_SIZE, FrameDecoder, FrameError, frame

log = logging.getLogger("podium.transport")
# security decisions (a peer refused at the TLS handshake) go to the audit trail
audit = logging.getLogger("podium.audit")


def peer_address(stream: trio.abc.Stream) -> str:
    inner = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
    socket = getattr(inner, "socket", None)
    try:
        host, port = socket.getpeername()[:2] if socket is not None else ("?", 0)
    except OSError:
        return "?"
    return f"{host}:{port}"


__all__ = ["ClientHandler", "TcpTransport", "peer_address"]

# serves one client connection: the stream (after TLS), the client's hello, the decoder
# (it may hold part of a frame) and the frames already read behind the hello; returns why
# the session ended, which the transport logs as it logs a peer's closed connection
ClientHandler = Callable[[trio.abc.Stream, ClientHello, FrameDecoder, list[bytes]], Awaitable[str]]

HANDSHAKE_TIMEOUT_S = 5.0
# a connection heard from this recently belongs to a live process
LIVE_S = 3.0
# refused this long, the node id is held by another process: give up
REFUSED_FOR_S = 3.0
# how long a refused dialer waits before it tries again
REFUSED_RETRY_S = 0.5
_READ_SIZE = 65536


class _Link:
    """Everything this node holds for one peer."""

    def __init__(self, key: str, address: tuple[str, int] | None, queue_size: int) -> None:
        self.key = key
        self.address = address
        self.queue: collections.deque[bytes] = collections.deque()
        self.queue_size = queue_size
        self.stream: trio.abc.Stream | None = None
        # True when this node dialed the current stream
        self.outbound = False
        # the peer process behind the current stream, and when it last sent anything
        self.instance = ""
        self.heard_at = float("-inf")
        # when the peer first refused this node's id, while it goes on refusing
        self.refused_since: float | None = None
        self.has_data = trio.Event()
        self.connected = trio.Event()
        self.lost = trio.Event()


class TcpTransport:
    def __init__(
        self,
        node: str,
        *,
        listen: tuple[str, int] | None,
        peers: Mapping[str, tuple[str, int]],
        rng: random.Random,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        queue_size: int = 8192,
        max_frame: int = MAX_FRAME_SIZE,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 2.0,
        instance: str = "",
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        """``instance`` tells this process from another given the same node id;
        ``on_refused`` is called with the address of the process holding the id once
        peers have refused it for :data:`REFUSED_FOR_S`."""
        self._node = node
        self._instance = instance
        self.on_refused = on_refused
        self._listen = listen
        self._rng = rng
        self._server_ssl = server_ssl
        self._client_ssl = client_ssl
        self._queue_size = queue_size
        self._max_frame = max_frame
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._links: dict[str, _Link] = {}
        self._nursery: trio.Nursery | None = None
        self._deliver: Deliver | None = None
        self._clients: ClientHandler | None = None
        self.listen_port: int | None = None
        self.dropped = 0
        self.closed_connections: collections.Counter[str] = collections.Counter()
        for peer, address in peers.items():
            if peer != node:
                self._links[peer] = _Link(peer, address, queue_size)

    @property
    def node(self) -> str:
        return self._node

    def add_peer(self, node: str, address: tuple[str, int]) -> None:
        if node == self._node or node in self._links:
            return
        link = self._links[node] = _Link(node, address, self._queue_size)
        if self._nursery is not None:
            self._start_link(link)

    def accept_clients(self, handler: ClientHandler) -> None:
        """Serve native clients on the listening port with ``handler`` (before :meth:`run`)."""
        self._clients = handler

    def send(self, dst_node: str, envelope: Envelope) -> bool:
        link = self._links.get(dst_node)
        if link is None or len(link.queue) >= link.queue_size:
            self.dropped += 1
            log.debug("dropped", extra={"peer": dst_node, "known": link is not None})
            return False
        link.queue.append(frame(encode(envelope), self._max_frame))
        link.has_data.set()
        return True

    def reachable(self, dst_node: str) -> bool:
        link = self._links.get(dst_node)
        return link is not None and link.stream is not None

    async def run(
        self, deliver: Deliver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        self._deliver = deliver
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self._listen is not None:
                host, port = self._listen
                listeners = await trio.open_tcp_listeners(port, host=host)
                self.listen_port = listeners[0].socket.getsockname()[1]
                nursery.start_soon(trio.serve_listeners, self._accepted, listeners)
            for link in list(self._links.values()):
                self._start_link(link)
            task_status.started()

    # -- links -----------------------------------------------------------------------

    def _start_link(self, link: _Link) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._writer, link)
        if link.address is not None:
            self._nursery.start_soon(self._dialer, link)

    async def _writer(self, link: _Link) -> None:
        while True:
            await link.has_data.wait()
            if link.stream is None:
                await link.connected.wait()
                continue
            stream = link.stream
            batch = b"".join(link.queue)
            link.queue.clear()
            link.has_data = trio.Event()
            try:
                await stream.send_all(batch)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                self._drop_stream(link, stream, f"write failed: {exc}")

    async def _dialer(self, link: _Link) -> None:
        assert link.address is not None
        host, port = link.address
        failures = 0
        while True:
            if link.stream is not None:
                await link.lost.wait()
                continue
            try:
                with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                    stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
                    if self._client_ssl is not None:
                        stream = trio.SSLStream(stream, self._client_ssl, server_hostname=host)
                        await stream.do_handshake()
                    await stream.send_all(frame(encode(Hello(self._node, self._instance))))
            except (OSError, trio.TooSlowError, trio.BrokenResourceError, ssl.SSLError) as exc:
                failures += 1
                delay = min(self._backoff_cap_s, self._backoff_base_s * 2 ** min(failures, 16))
                delay *= 0.5 + self._rng.random()
                log.debug(
                    "dial failed", extra={"peer": link.key, "error": str(exc), "retry_s": delay}
                )
                await trio.sleep(delay)
                continue
            failures = 0
            await self._reader(stream, link, outbound=True)
            if link.refused_since is not None:
                await trio.sleep(REFUSED_RETRY_S)

    async def _accepted(self, stream: trio.abc.Stream) -> None:
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                if self._server_ssl is not None:
                    stream = trio.SSLStream(stream, self._server_ssl, server_side=True)
                    await stream.do_handshake()
                await stream.send_all(frame(encode(Hello(self._node, self._instance))))
        except (trio.BrokenResourceError, trio.TooSlowError, ssl.SSLError, OSError) as exc:
            self._refuse(f"handshake failed: {exc}")
            if self._server_ssl is not None:
                audit.warning(
                    "peer refused",
                    extra={"event": "peer_refused", "peer": peer_address(stream),
                           "reason": str(exc)},
                )  # fmt: skip
            await trio.aclose_forcefully(stream)
            return
        await self._reader(stream, None, outbound=False)

    def _refuse(self, reason: str) -> None:
        self.closed_connections[reason.split(":")[0]] += 1
        log.warning("connection refused", extra={"reason": reason, "event": "peer_refused"})

    # -- reading -----------------------------------------------------------------------

    async def _reader(self, stream: trio.abc.Stream, link: _Link | None, *, outbound: bool) -> None:
        """Read one connection until it ends; the first frame must be the peer's Hello."""
        decoder = FrameDecoder(self._max_frame)
        peer: str | None = None
        reason = "closed by peer"
        try:
            while True:
                if peer is None:
                    with trio.move_on_after(HANDSHAKE_TIMEOUT_S) as waited:
                        data = await stream.receive_some(_READ_SIZE)
                    if waited.cancelled_caught:
                        reason = "no Hello in time"
                        return
                else:
                    data = await stream.receive_some(_READ_SIZE)
                if link is not None:
                    link.heard_at = trio.current_time()
                if not data:
                    if decoder.buffered:
                        reason = f"truncated frame ({decoder.buffered} bytes left)"
                    return
                bodies = decoder.feed(data)
                for n, body in enumerate(bodies):
                    msg = decode(body)
                    if peer is None:
                        if isinstance(msg, ClientHello) and self._clients is not None:
                            if outbound:
                                reason = "a dialed peer answered as a client"
                                return
                            peer = f"client {peer_address(stream)}"
                            reason = await self._clients(stream, msg, decoder, bodies[n + 1 :])
                            return
                        if not isinstance(msg, Hello):
                            reason = f"first frame was {type(msg).__name__}, not Hello"
                            return
                        peer = msg.node
                        holder = self._holder(peer, msg.instance, outbound)
                        if holder is not None:
                            reason = f"node id {peer} is already connected from {holder}"
                            await self._refuse_id(stream, Refused(peer, holder))
                            return
                        link = self._attach(stream, link, peer, outbound, msg.instance)
                        if link is None:
                            reason = "duplicate connection"
                            return
                    elif isinstance(msg, Envelope):
                        assert self._deliver is not None
                        if link is not None:
                            link.refused_since = None
                        await self._deliver(msg)
                    elif isinstance(msg, Refused) and outbound and link is not None:
                        reason = f"refused: node id {msg.node} is held from {msg.holder}"
                        self._refused(link, msg.holder)
                        return
                    else:
                        reason = f"unexpected {type(msg).__name__} frame"
                        return
        except (FrameError, DecodeError) as exc:
            reason = f"bad input: {exc}"
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            if link is not None:
                self._drop_stream(link, stream, reason)
            else:
                self._note_closed(peer, reason)
            await trio.aclose_forcefully(stream)

    def _holder(self, peer: str, instance: str, outbound: bool) -> str | None:
        """Where ``peer``'s id is already connected from, when a live connection of
        another process holds it; None when ``instance`` may have it."""
        link = self._links.get(peer)
        if (
            outbound
            or link is None
            or link.stream is None
            or link.outbound
            or not instance
            or link.instance in ("", instance)
            or trio.current_time() - link.heard_at >= LIVE_S
        ):
            return None
        return peer_address(link.stream)

    async def _refuse_id(self, stream: trio.abc.Stream, refusal: Refused) -> None:
        log.warning(
            "connection refused",
            extra={"reason": "node id in use", "peer": refusal.node, "holder": refusal.holder,
                   "from": peer_address(stream), "event": "peer_refused"},
        )  # fmt: skip
        gone = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
        with trio.move_on_after(HANDSHAKE_TIMEOUT_S), contextlib.suppress(*gone):
            await stream.send_all(frame(encode(refusal)))

    def _refused(self, link: _Link, holder: str) -> None:
        """A peer refused this node's id; give up once it has for :data:`REFUSED_FOR_S`."""
        now = trio.current_time()
        if link.refused_since is None:
            link.refused_since = now
            log.warning("node id refused", extra={"peer": link.key, "holder": holder})
        elif now - link.refused_since >= REFUSED_FOR_S and self.on_refused is not None:
            self.on_refused(holder)

    def _attach(
        self,
        stream: trio.abc.Stream,
        link: _Link | None,
        peer: str,
        outbound: bool,
        instance: str,
    ) -> _Link | None:
        """Make ``stream`` the connection to ``peer``; None when an existing one wins."""
        known = self._links.get(peer)
        if link is None:
            link = known
        elif known is None:
            # dialed by address: the peer is reachable by its own name from now on
            self._links[peer] = link
        if link is None:
            link = self._links[peer] = _Link(peer, None, self._queue_size)
            assert self._nursery is not None
            self._nursery.start_soon(self._writer, link)
        if link.stream is not None and link.stream is not stream:
            preferred_outbound = self._node < peer
            if link.outbound == preferred_outbound and outbound != preferred_outbound:
                return None
            old = link.stream
            self._drop_stream(link, old, "replaced by the preferred connection")
            assert self._nursery is not None
            self._nursery.start_soon(trio.aclose_forcefully, old)
        link.stream = stream
        link.outbound = outbound
        link.instance = instance
        link.heard_at = trio.current_time()
        link.connected.set()
        link.lost = trio.Event()
        if link.queue:
            link.has_data.set()
        log.info("connected", extra={"peer": peer, "outbound": outbound})
        return link

    def _drop_stream(self, link: _Link, stream: trio.abc.Stream, reason: str) -> None:
        if link.stream is not stream:
            self._note_closed(link.key, reason)
            return
        link.stream = None
        link.connected = trio.Event()
        link.lost.set()
        self._note_closed(link.key, reason)

    def _note_closed(self, peer: str | None, reason: str) -> None:
        self.closed_connections[reason.split(":")[0]] += 1
        level = logging.WARNING if reason.startswith(("bad input", "first frame")) else logging.INFO
        log.log(level, "connection closed", extra={"peer": peer, "reason": reason})
