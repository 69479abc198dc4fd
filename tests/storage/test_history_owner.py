"""Who submitted a job, as the history keeps it: a column of its own, indexed, so a
user's listing walks their own records; a database from before owners still opens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs

from runtime.storage.history import HistoryBackend, insert
from runtime.storage.history_sqlite import SqliteHistory
from tests.storage.records import STATUSES, ids, record
from transport.job_options import JobOptions
from transport.records import JobQuery, JobRecord


def owned(seq: int, owner: str | None, **kw: object) -> JobRecord:
    base = record(seq, **kw)  # type: ignore[arg-type]
    return base if owner is None else attrs.evolve(base, options=JobOptions(owner=owner))


def test_a_listing_by_owner_sees_only_that_owners_records(backend: HistoryBackend) -> None:
    owners = ("alice", "bob", None)
    rows = [
        owned(i, owners[i % 3], status=STATUSES[i % 4], job_type="a" if i % 2 else "b")
        for i in range(1, 31)
    ]
    backend.write([insert(r) for r in rows], 30)
    for q in (
        JobQuery(owner="alice", limit=100),
        JobQuery(owner="bob", limit=3, ascending=True),
        JobQuery(owner="alice", type="a", limit=100),
        JobQuery(owner="bob", status="dead", limit=100),
        JobQuery(owner="alice", type="b", status="failed", limit=100, after_seq=20),
        JobQuery(owner="carol", limit=100),
    ):
        want = sorted(
            (
                r
                for r in rows
                if q.admits(r.status, r.type, r.created_at, r.seq) and q.owns(r.options)
            ),
            key=lambda r: r.seq,
            reverse=not q.ascending,
        )
        assert ids(backend.query(q)) == ids(want[: q.limit]), q
    assert backend.get("job-1") == rows[0]
    assert rows[0].options is not None and rows[0].options.owner == "bob"


def test_a_user_listing_uses_the_owner_index(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "history.db")
    store.open()
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM jobs WHERE owner = ? ORDER BY seq DESC LIMIT 10",
        ("alice",),
    ).fetchall()
    store.close()
    assert any("jobs_owner" in str(step) for step in plan), plan


def test_a_history_from_before_owners_opens_and_reads(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = SqliteHistory(path)
    store.open()
    store.write([insert(owned(1, None)), insert(owned(2, None))], 2)
    store.close()
    # the table as it was before the owner column: rebuilt without it, rows kept
    db = sqlite3.connect(path)
    db.executescript(
        """
        DROP INDEX jobs_owner;
        CREATE TABLE old AS SELECT seq, id, type, status, idempotency_key, created_at,
            finished_at, finished_index, body FROM jobs;
        DROP TABLE jobs;
        ALTER TABLE old RENAME TO jobs;
        """
    )
    db.close()
    store = SqliteHistory(path)
    store.open()
    try:
        assert store.get("job-1") == owned(1, None)
        store.write([insert(owned(3, "alice"))], 3)
        assert ids(store.query(JobQuery(owner="alice"))) == [3]
        assert ids(store.query(JobQuery())) == [3, 2, 1]
    finally:
        store.close()
