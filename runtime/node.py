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
from collections.abc import Sequence
from typing import Protocol

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from runtime.config import ConfigError, NodeConfig, load_config
from runtime.logs import setup_logging
from runtime.preflight import preflight
from runtime.supervisor import Supervisor
from runtime.system import ActorSystem
from transport.tcp import ClientHandler, TcpTransport
from transport.tls import client_context, server_context

log = logging.getLogger("podium.node")

ROLES_MODULE = "actors.roles"


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
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    hconfig = HypercornConfig()
    hconfig.bind = [f"{listen[0]}:{listen[1]}"]
    hconfig.accesslog = None
    hconfig.errorlog = logging.getLogger("podium.http")
    await hypercorn_serve(app, hconfig, task_status=task_status)  # type: ignore[arg-type]


async def run_node(config: NodeConfig) -> str | None:
    """Run until a signal; returns where this node's id is already in use, if the
    masters refused it (another process was started with the same ``--id``)."""
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
            await nursery.start(system.serve)
            log.info(
                "node started",
                extra={"role": config.role, "listen": transport.listen_port, "event": "start"},
            )
            if config.http.address is not None:
                app = roles.http_app(config, system)
                await nursery.start(serve_http, app, config.http.address)
                log.info("http listening", extra={"http": config.http.listen})

            async def stop_on_signal() -> None:
                async for signum in signals:
                    log.info("stopping", extra={"signal": signal.Signals(signum).name})
                    with trio.move_on_after(60):
                        await roles.drain(config, system)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(stop_on_signal)
            # the node lives until a signal; a root supervisor that gives up
            # raises out of here and the process exits with an error
            await nursery.start(roles.root(config, system).run, system)
    log.info("node stopped")
    return refused[0] if refused else None


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
    # everything imported so far lives as long as the process: keep it out of the
    # collector's full passes, which otherwise pause the event loop for tens of ms
    gc.freeze()
    holder = trio.run(run_node, config)
    if holder is not None:
        kind = "worker" if config.role == "worker" else "node"
        print(
            f"podium: {kind} id {config.id} is already connected from {holder}; "
            "give each node its own --id",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
