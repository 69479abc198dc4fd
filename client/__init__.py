"""podium's Python client (sync and async; over HTTP with httpx, or the native protocol) and
the ``podium`` command line."""

from client.api import AsyncClient, Client, PodiumError, TlsFiles

__all__ = ["AsyncClient", "Client", "PodiumError", "TlsFiles"]
