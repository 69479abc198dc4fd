"""The one error both of the client's transports raise."""

from __future__ import annotations

__all__ = ["PodiumError"]


class PodiumError(Exception):
    """The API refused a request (``status`` is the HTTP status; 0 when unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message
