"""A master's store of finished attempts' output, kept beside its job history.

The captures live in a table of the history's own SQLite file, written
through a connection of their own, and a trigger on the history's ``jobs``
table deletes a job's output in the same transaction that deletes its record.
So output follows the job's retention with no bookkeeping of ours: retention,
``DELETE``, purge, whichever removes the record (on every master, since every
master applies the same removals) takes the output with it, at the cost of
one indexed delete per removed record.

A capture is kept as it was shipped, head and tail apart with the count of
bytes written (:class:`~transport.output_messages.Capture`), so a read of it
addresses the stream as the worker's reads did. A file written before that
holds only rendered captures: opening it renames their column to ``head``
and adds the others, and such a row reads as a stream of its own bytes.

A follower that installs a snapshot swaps its history file for a new one;
the store notices (the file is no longer the one it opened) and opens the
new file, which starts without output: reads then find it on a peer.

Synchronous: the actor calls it on a worker thread.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from transport.output_messages import Capture

__all__ = ["OutputRow", "OutputStore"]

# (job id, attempt, head, tail, bytes written in all)
OutputRow = tuple[str, int, bytes, bytes, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_output (
    job_id TEXT NOT NULL, attempt INTEGER NOT NULL, head BLOB NOT NULL,
    tail BLOB NOT NULL DEFAULT x'', total INTEGER,
    PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS job_output_follows_record AFTER DELETE ON jobs
BEGIN DELETE FROM job_output WHERE job_id = OLD.id; END;
"""
# a table of rendered captures only (see the module doc): a NULL total is the head's length
_SPLIT_RENDERED = """
BEGIN;
ALTER TABLE job_output RENAME COLUMN data TO head;
ALTER TABLE job_output ADD COLUMN tail BLOB NOT NULL DEFAULT x'';
ALTER TABLE job_output ADD COLUMN total INTEGER;
COMMIT;
"""


class OutputStore:
    """Output by (job, attempt) in the history file at ``path`` (opened by the history
    first: the trigger needs its ``jobs`` table)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._inode = 0

    def _conn(self) -> sqlite3.Connection:
        inode = os.stat(self.path).st_ino
        if self._db is None or inode != self._inode:
            if self._db is not None:
                self._db.close()
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # as the history's: the capture is on the workers too until it is read
            db.execute("PRAGMA synchronous=NORMAL")
            columns = {row[1] for row in db.execute("PRAGMA table_info(job_output)")}
            if "data" in columns:
                db.executescript(_SPLIT_RENDERED)
            db.executescript(_SCHEMA)
            self._db, self._inode = db, inode
        return self._db

    def put(self, rows: list[OutputRow]) -> None:
        """Captures, in one transaction."""
        db = self._conn()
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO job_output (job_id, attempt, head, tail, total) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")

    def get(self, job_id: str, attempt: int) -> Capture | None:
        row = (
            self._conn()
            .execute(
                "SELECT head, tail, coalesce(total, length(head)) FROM job_output "
                "WHERE job_id = ? AND attempt = ?",
                (job_id, attempt),
            )
            .fetchone()
        )
        return None if row is None else Capture(bytes(row[0]), bytes(row[1]), row[2])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
