"""What a handler raises to fail a job with a message that needs no exception name."""

from __future__ import annotations

__all__ = ["JobFailed"]


class JobFailed(Exception):
    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result
