"""A free TCP port on 127.0.0.1 for a node process a test starts (free when asked: the
kernel may hand it out again before the node binds it)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
