"""A full disk, told apart from every other storage failure.

A full disk is a condition a node waits out, not a bug: SQLite answers
``SQLITE_FULL`` ("database or disk is full") for the transaction that did not
fit and rolls it back whole, and a plain file write fails with ``ENOSPC`` (or
``EDQUOT`` over a quota). Nothing of the failed write is on disk, so the node
may try the same write again once space returns. The stores raise
:class:`StorageFull` for exactly these, so the layers above can keep serving
and retry, while any other error still crashes the actor as a bug would.
"""

from __future__ import annotations

import errno
import math
import sqlite3

import trio

__all__ = ["SpaceLimit", "StorageFull", "as_storage_full"]

# SQLite's primary result code for a full disk or database (extended codes share it)
_SQLITE_FULL = 13
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(Exception):
    """A write did not fit on the disk; nothing of it was kept, and it may be retried."""


class SpaceLimit:
    """A simulated disk's free space: none until a moment in (mock) time, then enough.

    The simulator's disk-full fault sets it; the memory stores call :meth:`check`
    before every write, so a write either fits whole or fails leaving nothing.
    """

    def __init__(self) -> None:
        self.until = -math.inf
        self.reason = ""

    def fill(self, until: float, reason: str) -> None:
        """Refuse writes until ``until`` (``trio.current_time()`` seconds)."""
        self.until = until
        self.reason = reason

    @property
    def full(self) -> bool:
        return trio.current_time() < self.until

    def check(self) -> None:
        if self.full:
            raise StorageFull(self.reason)


def as_storage_full(exc: BaseException) -> StorageFull | None:
    """``exc`` as a :class:`StorageFull` when it means the disk is full, else None."""
    if isinstance(exc, StorageFull):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if (code is not None and code & 0xFF == _SQLITE_FULL) or "disk is full" in str(exc):
            return StorageFull(str(exc))
        return None
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return StorageFull(exc.strerror or str(exc))
    return None
