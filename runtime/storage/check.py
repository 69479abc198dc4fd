"""A master's data directory, checked before the node starts: one clear line, not a crash.

A data directory holds the Raft log (``raft.db``) and the job history
(``history.db``). The history is rebuilt from the log after a crash, so it
may lag the log but never the log's snapshot (the log is compacted only
past what the history made durable). A directory written by a podium from
before the history store has a log and no history; this podium cannot read
that log, and says so instead of failing inside the master.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runtime.storage.history_sqlite import HISTORY_FORMAT

__all__ = ["HISTORY_FILE", "RAFT_FILE", "check_data_dir"]

RAFT_FILE = "raft.db"
HISTORY_FILE = "history.db"


class _Unreadable(Exception):
    pass


def _one(path: Path, sql: str) -> tuple[object, ...] | None:
    """The first row ``sql`` gives, None if the file lacks what it asks for; a file that
    cannot be opened at all is :class:`_Unreadable`."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _Unreadable(f"cannot read {path}: {exc}") from None
    try:
        row: tuple[object, ...] | None = db.execute(sql).fetchone()
        return row
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise _Unreadable(f"cannot read {path}: {exc}") from None
    except sqlite3.DatabaseError:
        return None
    finally:
        db.close()


def check_data_dir(data: Path) -> str | None:
    """What is wrong with ``data`` as a master's data directory, or None."""
    try:
        return _check(data)
    except _Unreadable as exc:
        return f"{exc}: check --data and the files' permissions"


def _check(data: Path) -> str | None:
    raft, history = data / RAFT_FILE, data / HISTORY_FILE
    if not raft.exists():
        return None
    held = _one(raft, "SELECT (SELECT count(*) FROM entries) + (SELECT count(*) FROM snapshot)")
    if not history.exists():
        if held and held[0]:
            return (
                f"data directory {data} was written by an older podium (a Raft log without "
                f"{HISTORY_FILE}); this podium cannot read it: move it away to start empty, "
                f"or let this master catch up from the others with an empty --data"
            )
        return None
    found = _one(history, "SELECT value FROM meta WHERE key = 'format'")
    if found is not None and found[0] != HISTORY_FORMAT:
        return (
            f"{history} is history format {found[0]}; this podium reads format "
            f"{HISTORY_FORMAT}: move the data directory away, or use --data"
        )
    snapshot = _one(raft, "SELECT idx FROM snapshot")
    applied = _one(history, "SELECT value FROM meta WHERE key = 'applied_index'")
    held_index = int(applied[0]) if applied and isinstance(applied[0], int) else 0
    if snapshot and isinstance(snapshot[0], int) and snapshot[0] > held_index:
        return (
            f"{history} holds the log up to entry {held_index}, behind the snapshot at "
            f"{snapshot[0]} in {raft}: the history cannot be rebuilt; remove the data "
            f"directory and this master catches up from the others"
        )
    return None
