"""What an HTTP answer means to the client, for every request path it has (the API calls,
the event stream, job output): a refusal's :class:`PodiumError`, and the timeouts of a
stream, so the paths beside :meth:`client.api.Client.call` map errors and time out alike.
"""

from __future__ import annotations

import httpx

from client.errors import PodiumError

__all__ = ["error_of", "stream_timeout"]


def error_of(response: httpx.Response) -> PodiumError:
    """The error a refusal carries: the ``error`` of its JSON body, else its text (the
    body must have been read: ``response.read()`` on a stream)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("error") if isinstance(body, dict) else None
    return PodiumError(response.status_code, message or response.text or response.reason_phrase)


def stream_timeout(timeout: float) -> httpx.Timeout:
    """A stream's timeouts: the client's own to connect, and no read timeout (a stream is
    quiet while nothing happens: an event stream between its pings, a followed job's
    output while it prints nothing)."""
    return httpx.Timeout(timeout, read=None)
