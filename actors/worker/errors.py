"""What a handler raises to fail a job, and what a worker raises inside a handler to stop it."""

from __future__ import annotations

__all__ = ["JobCancelled", "JobFailed", "JobInterrupted", "Permanent", "SoftTimeLimit"]


class JobFailed(Exception):
    """Fails a job with a message that needs no exception name (and no traceback)."""

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class Permanent(JobFailed):
    """Fails a job for good: no further attempts, whatever retries it has left.

    For failures another attempt cannot cure (bad input, a record that no
    longer exists): the job goes straight to the dead-letter queue (or
    ``failed``) with ``last_reason`` ``permanent``. The message is the job's
    error, as with :class:`JobFailed`. Import it as ``from podium import Permanent``.
    """


class JobInterrupted(BaseException):
    """Raised inside a sync handler running in a worker's child process to stop it.

    A ``BaseException``, like ``KeyboardInterrupt``, so that a handler's
    ``except Exception`` does not swallow it while its ``finally`` blocks still
    run: the handler gets a grace period to clean up, then its process is killed.
    """


class SoftTimeLimit(JobInterrupted):
    """The job ran past its ``timeout_s``."""


class JobCancelled(JobInterrupted):
    """The job was cancelled, or its worker lost its lease or is stopping."""
