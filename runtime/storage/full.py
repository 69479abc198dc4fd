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
import os
import sqlite3
from pathlib import Path

import trio

__all__ = ["SpaceLimit", "StorageFull", "as_storage_full"]

# SQLite's primary result codes for a full disk or database, and for an I/O error
# (extended codes share them); an I/O error counts as a full disk only when the disk
# has less than LOW_SPACE left (growing the WAL index fails that way, for one)
_SQLITE_FULL = 13
_SQLITE_IOERR = 10
LOW_SPACE = 1 << 20
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
        # a disk never filled asks no clock (the stores are also used outside trio)
        return self.until != -math.inf and trio.current_time() < self.until

    def check(self) -> None:
        if self.full:
            raise StorageFull(self.reason)


def as_storage_full(exc: BaseException, where: Path | None = None) -> StorageFull | None:
    """``exc`` as a :class:`StorageFull` when it means the disk is full, else None.
    ``where`` is a path on the disk written to, to tell a full disk's I/O errors apart."""
    if isinstance(exc, StorageFull):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code == _SQLITE_FULL or "disk is full" in str(exc):
            return StorageFull(str(exc))
        if code == _SQLITE_IOERR and where is not None and _space_left(where) < LOW_SPACE:
            return StorageFull(f"{exc} (the disk is nearly full)")
        return None
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return StorageFull(exc.strerror or str(exc))
    return None


def _space_left(path: Path) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s disk (its nearest
    existing directory); a disk that cannot be asked counts as roomy."""
    for where in (path, *path.parents):
        try:
            stat = os.statvfs(where)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize
    return LOW_SPACE
