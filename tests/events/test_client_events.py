"""The event stream is HTTP only: over podium:// both clients say so at once."""

from __future__ import annotations

import pytest

from client import AsyncClient, Client, PodiumError


def test_the_sync_client_refuses_events_over_the_native_protocol() -> None:
    with Client("podium://127.0.0.1:1") as client, pytest.raises(PodiumError, match="HTTP"):
        next(iter(client.events()))


async def test_the_async_client_refuses_events_over_the_native_protocol() -> None:
    async with AsyncClient("podium://127.0.0.1:1") as client:
        with pytest.raises(PodiumError, match="HTTP only"):
            await anext(aiter(client.events(type="job")))
