"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.storage.history import HistoryBackend
from runtime.storage.history_memory import MemoryHistory
from runtime.storage.history_sqlite import SqliteHistory


@pytest.fixture(params=["sqlite", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryBackend]:
    """Each history backend, opened on an empty store (a file under ``tmp_path`` for
    sqlite), and closed after the test."""
    store: HistoryBackend = (
        SqliteHistory(tmp_path / "history.db") if request.param == "sqlite" else MemoryHistory()
    )
    store.open()
    yield store
    store.close()
