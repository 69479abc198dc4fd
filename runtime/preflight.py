"""What a node checks before it starts anything: one line naming the setting, not a
traceback from deep inside a task after half the node is up.

A port already taken, a data directory that cannot be created or written, a
``--handlers`` module that does not import: each of these would otherwise
surface as an ``OSError`` inside trio's listener setup, as supervisor restarts
of the master, or as a worker that fails once HTTP is already answering. Each
check here returns the line to print (the node exits with code 2), naming the
setting, its value and what to do.

The port check binds and closes a socket the way trio's listeners do
(``SO_REUSEADDR``, so a port in TIME_WAIT is not a false alarm). Another
process can still take the port between the check and the node's own bind;
the node then says the same line (:func:`cannot_listen`) from its own bind.
"""

from __future__ import annotations

import errno
import importlib
import os
import socket
import ssl
import sys
from pathlib import Path

from runtime.config import NodeConfig
from runtime.storage.check import check_data_dir

__all__ = ["cannot_listen", "preflight"]


def preflight(config: NodeConfig) -> str | None:
    """The first problem that would stop ``config``'s node, as one line, or None."""
    listen = config.listen_address
    problem = _port(listen, "--listen", config.listen)
    if problem is None and config.http.address is not None:
        problem = _port(config.http.address, "--http", config.http.listen)
    if problem is None and config.http.address is not None:
        problem = _http_cert(config.http.cert, config.http.key)
    if problem is None and config.runs_master:
        problem = _data_dir(config.data)
    if problem is None and config.runs_worker:
        problem = _handlers(config.handlers)
    return problem


def _port(address: tuple[str, int], flag: str, text: str) -> str | None:
    host, port = address
    if port == 0:
        return None  # any free port
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot listen on {text} ({exc.strerror}); use {flag} with a host this machine has"
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            return cannot_listen(exc, text, flag)
    return None


def _http_cert(cert: Path | None, key: Path | None) -> str | None:
    """Load the HTTPS certificate and key as the server will, so a wrong file is one line
    now rather than a TLS error from inside the HTTP server once the node is up."""
    if cert is None or key is None:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        return (
            f"cannot load the HTTPS certificate {cert} with key {key} ({exc}); "
            "set [http] cert and key to a PEM certificate and its private key"
        )
    return None


def cannot_listen(exc: OSError, text: str, flag: str) -> str:
    """The line for a failed bind of ``text`` (the value of ``flag``)."""
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {text} (address in use); is another node running? use {flag}"
    reason = exc.strerror or str(exc)
    return f"cannot listen on {text} ({reason}); use {flag}"


def _data_dir(data: Path) -> str | None:
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create data directory {data} ({exc.strerror or exc}); use --data"
    if not os.access(data, os.W_OK | os.X_OK):
        return f"cannot write to data directory {data} (permission denied); use --data"
    return check_data_dir(data)


def _handlers(modules: tuple[str, ...]) -> str | None:
    """Import each handler module now, as the worker will (the working directory first
    on the path, as ``python -m`` puts it)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            return (
                f"cannot import handlers module {module!r} ({exc}); use --handlers with a "
                f"module on the import path (the current directory is on it)"
            )
        except Exception as exc:  # the module's own code failed: say where
            return (
                f"handlers module {module!r} failed to import: {type(exc).__name__}: {exc}; "
                "fix it or leave it out of --handlers"
            )
    return None
