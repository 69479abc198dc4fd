"""Each failed attempt of a job, kept with the job: what failed, where, and why.

The job's ``error`` is the last attempt's; a user debugging a flaky job wants
every attempt's (a timeout, then a traceback, then a lost worker). The log is
kept as one msgpack blob of rows ``[attempt, worker, reason, error, at]`` so
that the live table, the snapshot, the history row and the wire all carry it
as plain bytes, and it is decoded only when the API shows a job. It is
bounded, so a job retried a thousand times costs what one retried ten times
does: the last :data:`KEEP_ATTEMPTS` failures, each error cut to
:data:`ERROR_BYTES` (the start of a traceback and its end, where the
exception is).
"""

from __future__ import annotations

from typing import Any

import msgpack

__all__ = ["ERROR_BYTES", "KEEP_ATTEMPTS", "appended", "entries"]

KEEP_ATTEMPTS = 10
ERROR_BYTES = 8 * 1024
_CUT = "\n[... cut ...]\n"


def _bounded(error: str) -> str:
    if len(error) <= ERROR_BYTES:
        return error
    half = (ERROR_BYTES - len(_CUT)) // 2
    return error[:half] + _CUT + error[-half:]


def appended(
    log: bytes, attempt: int, worker: str | None, reason: str, error: str, at: float
) -> bytes:
    """``log`` with one more failed attempt, the oldest dropped past the bound."""
    rows: list[list[Any]] = msgpack.unpackb(log, raw=False) if log else []
    rows.append([attempt, worker, reason, _bounded(error), at])
    packed: bytes = msgpack.packb(rows[-KEEP_ATTEMPTS:], use_bin_type=True)
    return packed


def entries(log: bytes) -> list[dict[str, object]]:
    """The log as the API shows it, oldest first."""
    if not log:
        return []
    return [
        {"attempt": attempt, "worker": worker, "reason": reason, "error": error or None, "at": at}
        for attempt, worker, reason, error, at in msgpack.unpackb(log, raw=False)
    ]
