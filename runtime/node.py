"""``python -m runtime.node``: run one podium node (dev cluster, master or worker).

The node is the edge where every real thing is plugged in: the config, logs,
the TCP transport (with TLS when configured, and serving native clients on
the cluster port when the roles provide a handler), the actor system, the
HTTP server and the OS signals. What actors a role runs is decided in
``actors.roles``, which this module loads by name: ``runtime`` sits below
``actors`` in the layering and must not import it, so the dependency is
inverted through :class:`Roles` instead.
"""

from __future__ import annotations

import gc
import importlib
import logging
import random
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from runtime import tracing
from runtime.config import ConfigError, NodeConfig, load_config
from runtime.logs import setup_logging
from runtime.preflight import cannot_listen, preflight
from runtime.supervisor import Supervisor
from runtime.system import ActorSystem
from transport.tcp import ClientHandler, TcpTransport
from transport.tls import client_context, server_context

log = logging.getLogger("podium.node")

ROLES_MODULE = "actors.roles"
# the longest a first signal waits for a worker's running jobs (its own grace is shorter)
DRAIN_LIMIT_S = 60.0
# the longest a second signal waits for running jobs to be stopped and handed back (a
# stopped handler's child gets its kill grace; the leader is told the worker leaves)
HURRY_LIMIT_S = 10.0


class Roles(Protocol):
    """What ``actors.roles`` provides to the node."""

    def root(self, config: NodeConfig, system: ActorSystem) -> Supervisor: ...

    def http_app(self, config: NodeConfig, system: ActorSystem) -> object: ...

    def client_handler(self, config: NodeConfig, system: ActorSystem) -> ClientHandler | None: ...

    async def drain(self, config: NodeConfig, system: ActorSystem) -> None: ...


def load_roles() -> Roles:
    module = importlib.import_module(ROLES_MODULE)
    roles: Roles = module.ROLES
    return roles


def build_transport(config: NodeConfig) -> TcpTransport:
    peers = dict(config.peer_addresses)
    for text, address in zip(config.masters, config.master_addresses, strict=True):
        peers.setdefault(text, address)
    server_ssl = client_ssl = None
    if config.tls.enabled:
        files = {"ca": config.tls.ca, "cert": config.tls.cert, "key": config.tls.key}
        server_ssl = server_context(require_client_cert=True, **files)
        client_ssl = client_context(**files)
    return TcpTransport(
        config.id,
        listen=config.listen_address,
        peers=peers,
        rng=random.Random(),
        server_ssl=server_ssl,
        client_ssl=client_ssl,
        instance=secrets.token_hex(8),
    )


async def serve_http(
    app: object,
    listen: tuple[str, int],
    cert: Path | None = None,
    key: Path | None = None,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The API on ``listen``; HTTPS (hypercorn's own TLS) when ``cert`` and ``key`` are set."""
    hconfig = HypercornConfig()
    hconfig.bind = [f"{listen[0]}:{listen[1]}"]
    if cert is not None and key is not None:
        hconfig.certfile, hconfig.keyfile = str(cert), str(key)
    hconfig.accesslog = None
    hconfig.errorlog = logging.getLogger("podium.http")
    await hypercorn_serve(app, hconfig, task_status=task_status)  # type: ignore[arg-type]


async def stop_on_signals(
    signals: AsyncIterator[int],
    roles: Roles,
    config: NodeConfig,
    system: ActorSystem,
    nursery: trio.Nursery,
) -> None:
    """The first SIGINT or SIGTERM drains (a worker finishes what runs, for up to its
    grace, and hands back what is queued), the second stops at once (running jobs are
    stopped and handed back: each costs the attempt it was on), a third exits without
    waiting for anything. Each step says in the log what it waits for."""
    seen = 0
    async for signum in signals:
        seen += 1
        name = signal.Signals(signum).name
        if seen == 1:
            again = "Ctrl-C" if signum == signal.SIGINT else name
            said = (
                "stopping: the worker finishes its running jobs first (its 'draining' line "
                f"says how many and for how long) and hands queued ones back; {again} again "
                "stops at once, handing running jobs back"
                if config.runs_worker
                else "stopping"
            )
            log.info(said, extra={"signal": name, "event": "stop"})
            nursery.start_soon(_drain_then_stop, roles, config, system, nursery, DRAIN_LIMIT_S)
        elif seen == 2:
            log.warning(
                "stopping now: running jobs are stopped and handed back (at most %.0f s); "
                "a third signal exits without waiting",
                HURRY_LIMIT_S,
                extra={"signal": name, "event": "stop_now"},
            )
            # a second Drain tells a draining worker to stop its jobs at once
            nursery.start_soon(_drain_then_stop, roles, config, system, nursery, HURRY_LIMIT_S)
        else:
            log.warning("exiting without waiting", extra={"signal": name, "event": "exit"})
            nursery.cancel_scope.cancel()
            return


async def _drain_then_stop(
    roles: Roles, config: NodeConfig, system: ActorSystem, nursery: trio.Nursery, limit: float
) -> None:
    with trio.move_on_after(limit) as timer:
        await roles.drain(config, system)
    if timer.cancelled_caught:
        log.warning("drain took too long; stopping anyway", extra={"limit_s": limit})
    nursery.cancel_scope.cancel()


class _CannotListen(Exception):
    """A port preflight found free was taken before the node bound it."""


async def _listen(
    nursery: trio.Nursery,
    serve: Callable[..., Awaitable[object]],
    text: str,
    flag: str,
    *args: object,
) -> None:
    """Start a listener; a failed bind (raised bare, or from the listener's own nursery
    as a group) becomes the line preflight would have said."""
    try:
        await nursery.start(serve, *args)
    except* OSError as group:
        first: BaseException = group
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        assert isinstance(first, OSError)
        raise _CannotListen(cannot_listen(first, text, flag)) from None


async def run_node(config: NodeConfig) -> str | None:
    """Run until a signal; returns why the node could not run, as one line: its id is
    already in use (another process was started with the same ``--id``), or a port was
    taken between the preflight check and the bind."""
    why: list[str] = []
    try:
        why.extend(await _run(config))
    except* _CannotListen as group:
        why.extend(str(exc) for exc in group.exceptions)
    return why[0] if why else None


async def _run(config: NodeConfig) -> list[str]:
    roles = load_roles()
    transport = build_transport(config)
    refused: list[str] = []
    system = ActorSystem(config.id, transport, random.Random())
    clients = roles.client_handler(config, system)
    if clients is not None:
        transport.accept_clients(clients)
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:

            def id_in_use(holder: str) -> None:
                refused.append(holder)
                nursery.cancel_scope.cancel()

            transport.on_refused = id_in_use
            await _listen(nursery, system.serve, config.listen, "--listen")
            log.info(
                "node started",
                extra={"role": config.role, "listen": transport.listen_port, "event": "start"},
            )
            if config.http.address is not None:
                app = roles.http_app(config, system)
                http = config.http
                served = (app, http.address, http.cert, http.key)
                await _listen(nursery, serve_http, http.listen, "--http", *served)
                scheme = "https" if http.cert is not None else "http"
                log.info("http listening", extra={"http": http.listen, "scheme": scheme})

            nursery.start_soon(stop_on_signals, signals, roles, config, system, nursery)
            # the node lives until a signal; a root supervisor that gives up
            # raises out of here and the process exits with an error
            await nursery.start(roles.root(config, system).run, system)
    log.info("node stopped")
    kind = "worker" if config.role == "worker" else "node"
    return [
        f"{kind} id {config.id} is already connected from {holder}; give each node its own --id"
        for holder in refused[:1]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = load_config(list(argv) if argv is not None else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    problem = preflight(config)
    if problem is not None:
        print(f"podium: {problem}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, node=config.id)
    try:
        # on only when the OTEL_* variables ask for an exporter (see runtime.tracing)
        tracing.configure(config.id, config.role)
    except tracing.TracingError as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 2
    # everything imported so far lives as long as the process: keep it out of the
    # collector's full passes, which otherwise pause the event loop for tens of ms
    gc.freeze()
    try:
        problem = trio.run(run_node, config)
    finally:
        tracing.shutdown()  # the spans still queued are exported before the process ends
    if problem is not None:
        print(f"podium: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
