"""The memory history keeps links from ``Link`` operations, as SQLite's ``parents`` table
does, so the simulator runs the production path of links and compares them."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from runtime.storage import history_memory
from runtime.storage.history import Link, Op, Remove, insert
from runtime.storage.history_memory import HistoryImage, MemoryHistory
from tests.storage.records import child, install, record
from transport.job_options import JobOptions


def test_children_come_from_link_operations_not_from_options() -> None:
    store = MemoryHistory()
    store.open()
    with_options = attrs.evolve(record(2), options=JobOptions(depends_on=("job-1",)))
    store.write([insert(record(1)), insert(with_options)], 2)
    assert store.children("job-1", 10) == [] and not store.has_links(), "no Link written"
    store.write([Link(2, "job-2", ("job-1",))], 3)
    assert store.children("job-1", 10) == [(2, "job-2")] and store.has_links()


def test_a_removed_record_takes_its_links_with_it() -> None:
    store = MemoryHistory()
    store.open()
    store.write([insert(record(1)), *child(2, "job-1"), *child(3, "job-1")], 3)
    assert store.write([Remove("job-2")], 4) == [1]
    assert store.children("job-1", 10) == [(3, "job-3")]
    assert store.image.linked() == [("job-1", 3, "job-3")]
    store.write([Remove("job-3")], 5)
    assert store.image.linked() == [] and not store.has_links()


def test_an_installed_copy_has_the_same_links(tmp_path: Path) -> None:
    store = MemoryHistory()
    store.open()
    store.write([insert(record(1)), insert(record(2)), *child(3, "job-1", "job-2")], 3)
    copy = install(store, tmp_path, 3, 1)
    assert isinstance(copy, MemoryHistory)
    assert (
        copy.image.linked()
        == store.image.linked()
        == [
            ("job-1", 3, "job-3"),
            ("job-2", 3, "job-3"),
        ]
    )


def test_a_history_that_lost_a_link_differs_only_in_its_links() -> None:
    """The convergence check compares both: records alone would not tell."""
    ops: list[Op] = [insert(record(1)), *child(2, "job-1")]
    full, lost = HistoryImage(), HistoryImage()
    full.write(ops, 2)
    lost.write(ops[:-1], 2)
    assert full.dump() == lost.dump()
    assert full.linked() != lost.linked()


def test_a_link_or_a_removal_by_id_reads_no_other_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Their cost does not grow with the history: no predicate is tried on any record."""
    image = HistoryImage()
    image.write([insert(record(seq)) for seq in range(1, 201)], 200)
    tried: list[object] = []

    def counted(op: Op, r: object) -> bool:
        tried.append(r)
        return False

    monkeypatch.setattr(history_memory, "removes", counted)
    assert image.write([*child(201, "job-1"), Remove("job-5")], 201) == [0, 0, 1]
    assert tried == []
    assert len(image.rows) == 200
