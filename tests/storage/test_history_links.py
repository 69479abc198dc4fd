"""A job's GET asks the history for its final children every time; while no final job has
parents (every cluster that never used ``depends_on``) that costs no read at all."""

from __future__ import annotations

from pathlib import Path

from runtime.storage.history import History, HistoryBackend, Remove, insert
from runtime.storage.history_memory import MemoryHistory
from runtime.storage.history_sqlite import SqliteHistory
from tests.storage.records import Retain, child, install, record


class CountedReads(MemoryHistory):
    """A memory history that counts the children reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def children(self, job_id: str, limit: int) -> list[tuple[int, str]]:
        self.reads += 1
        return super().children(job_id, limit)


def test_a_backend_says_whether_any_record_has_parents(
    backend: HistoryBackend, tmp_path: Path
) -> None:
    assert not backend.has_links()
    backend.write([insert(record(1)), insert(record(2))], 2)
    assert not backend.has_links()
    backend.write(child(3, "job-1"), 3)
    assert backend.has_links()
    received = install(backend, tmp_path, 3, 10)
    assert received.has_links(), "a follower's installed copy knows it too"
    received.close()


async def test_no_read_until_a_final_job_with_parents_is_recorded() -> None:
    backend = CountedReads()
    history = History(backend)
    await history.open()
    history.record(1, insert(record(1)))
    await history.flush()
    assert await history.children("job-1", 10) == []
    assert backend.reads == 0
    for op in child(2, "job-1"):
        history.record(2, op)
    assert await history.children("job-1", 10) == [(2, "job-2")], "pending, then read"
    assert backend.reads == 1


async def test_a_reopened_store_with_links_reads_them(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "h.db")
    store.open()
    store.write([insert(record(1)), *child(2, "job-1")], 2)
    store.close()
    history = History(SqliteHistory(tmp_path / "h.db"))
    await history.open()
    assert await history.children("job-1", 10) == [(2, "job-2")]
    await history.close()


def test_a_database_from_before_the_trigger_unlinks_what_it_removes(tmp_path: Path) -> None:
    """An older database had no trigger: opening it adds one, and a removal there takes the
    child's parents rows with its record while counting records only."""
    store = SqliteHistory(tmp_path / "h.db")
    store.open()
    store.write([insert(record(1)), *child(2, "job-1"), *child(3, "job-1"), *child(4, "job-1")], 4)
    store.db.execute("DROP TRIGGER parents_follow_child")
    store.close()
    store = SqliteHistory(tmp_path / "h.db")
    store.open()
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'jobs'"
    assert store.db.execute(triggers).fetchall() == [("parents_follow_child",)]
    assert store.write([Remove("job-2"), Retain(None, 3)], 5) == [1, 2], "records only"
    assert store.count() == 1 and store.children("job-1", 10) == [(4, "job-4")]
    store.close()
