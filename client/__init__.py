"""podium's Python client (sync and async, on httpx) and the ``podium`` command line."""

from client.api import AsyncClient, Client, PodiumError

__all__ = ["AsyncClient", "Client", "PodiumError"]
