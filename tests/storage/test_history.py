"""The history store: both backends agree, reads see pending writes, recovery, catching up."""

from __future__ import annotations

import random
from pathlib import Path

import attrs
import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.attempt_log import appended
from runtime.storage.history import (
    History,
    HistoryBackend,
    Op,
    Remove,
    insert,
    pack_row,
    removes,
    unpack_row,
)
from runtime.storage.history_memory import HistoryDisk, MemoryHistory
from runtime.storage.history_sqlite import (
    HISTORY_FORMAT,
    HistoryFormatError,
    SqliteHistory,
)
from tests.storage.records import STATUSES, Purge, Retain, child, ids, install, record
from transport.job_options import JobOptions, RetryPolicy
from transport.records import JobQuery


def test_write_get_and_remove(backend: HistoryBackend) -> None:
    removed = backend.write([insert(record(1)), insert(record(2, key="k")), Remove("job-1")], 7)
    assert removed == [0, 0, 1]
    assert backend.get("job-1") is None and backend.get("job-2") == record(2, key="k")
    assert backend.by_keys(["k", "nope"]) == {"k": record(2, key="k")}
    assert backend.count() == 1 and backend.finished_before(3.5)
    assert not backend.finished_before(3.0)


def test_queries_filter_order_and_page(backend: HistoryBackend) -> None:
    rows = [
        record(i, status=STATUSES[i % 4], job_type="a" if i % 3 else "b", created=100.0 + i)
        for i in range(1, 41)
    ]
    backend.write([insert(r) for r in rows], 40)
    assert ids(backend.query(JobQuery(limit=3))) == [40, 39, 38]
    assert ids(backend.query(JobQuery(limit=3, ascending=True))) == [1, 2, 3]
    assert ids(backend.query(JobQuery(limit=3, after_seq=38))) == [37, 36, 35]
    assert ids(backend.query(JobQuery(limit=2, after_seq=3, ascending=True))) == [4, 5]
    for q in (
        JobQuery(status="dead", limit=5),
        JobQuery(type="b", limit=7),
        JobQuery(type="a", status="failed", limit=4, after_seq=30),
        JobQuery(since=110.0, until=120.0, limit=50),
        JobQuery(since=110.0, type="b", limit=50, ascending=True),
        JobQuery(until=105.0, status="succeeded", limit=50),
    ):
        want = sorted(
            (r for r in rows if q.admits(r.status, r.type, r.created_at, r.seq)),
            key=lambda r: r.seq,
        )
        if not q.ascending:
            want.reverse()
        assert ids(backend.query(q)) == ids(want[: q.limit]), q
    assert backend.query(JobQuery(status="pending")) == []
    assert backend.query(JobQuery(since=1000.0)) == []


def test_removals_are_predicates(backend: HistoryBackend) -> None:
    rows = [
        record(i, status=STATUSES[i % 4], job_type="a" if i % 2 else "b", finished=200.0 + i)
        for i in range(1, 21)
    ]
    backend.write([insert(r) for r in rows], 20)
    purge = Purge(("dead", "failed"), "a", 215.0)
    retain = Retain(203.0, 12)
    removed = backend.write([purge, retain], 21)
    left = [r for r in rows if not removes(purge, r)]
    left = [r for r in left if not removes(retain, r)]
    after_purge = [r for r in rows if not removes(purge, r)]
    assert removed == [len(rows) - len(after_purge), len(after_purge) - len(left)]
    assert ids(backend.query(JobQuery(limit=100, ascending=True))) == ids(left)
    assert backend.count() == len(left)


def test_the_cap_removes_the_oldest_jobs(backend: HistoryBackend) -> None:
    backend.write([insert(record(i)) for i in (1, 2, 4, 6, 7, 9, 10)], 10)
    cut = backend.cutoff(4, backend.count())
    assert cut == 4
    backend.write([Retain(None, cut)], 11)
    assert ids(backend.query(JobQuery(limit=100, ascending=True))) == [6, 7, 9, 10]
    assert backend.cutoff(4, 4) is None


def test_finished_before_looks_only_where_it_can_be(backend: HistoryBackend) -> None:
    backend.write(
        [insert(record(i, created=float(i), finished=float(i) + 5)) for i in range(1, 9)], 8
    )
    assert not backend.finished_before(6.0)
    assert backend.finished_before(6.5)
    removed = backend.write([Retain(9.0, 0)], 9)
    assert removed == [3] and ids(backend.query(JobQuery(limit=9, ascending=True))) == [
        4,
        5,
        6,
        7,
        8,
    ]


def test_export_and_install_round_trip(backend: HistoryBackend, tmp_path: Path) -> None:
    backend.write([insert(record(i, index=i)) for i in range(1, 5001)], 5000)
    target = install(backend, tmp_path, 4000, 1500, held=(insert(record(99_999)),))
    assert target.count() == 4000 and target.get("job-99999") is None
    assert target.get("job-4000") == record(4000, index=4000)
    target.close()
    if isinstance(target, SqliteHistory):
        target = SqliteHistory(target.path)
    assert target.open() == 4000, "the received store knows the index it holds"
    target.close()


def test_sqlite_keeps_its_index_across_reopen_and_refuses_other_formats(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "h.db")
    assert store.open() == 0
    store.write([insert(record(1))], 42)
    store.close()
    again = SqliteHistory(tmp_path / "h.db")
    assert again.open() == 42 and again.count() == 1
    again.db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (HISTORY_FORMAT + 1,))
    again.close()
    with pytest.raises(HistoryFormatError, match="this podium reads format"):
        SqliteHistory(tmp_path / "h.db").open()


def test_sqlite_queries_use_indices(tmp_path: Path) -> None:
    """No filtered list scans the table: each walks an index in seq order."""
    store = SqliteHistory(tmp_path / "h.db")
    store.open()
    plans = {
        "type+status": "SELECT seq FROM jobs WHERE type = 'x' AND status = 'dead' "
        "ORDER BY seq DESC LIMIT 9",
        "key": "SELECT seq FROM jobs WHERE idempotency_key = 'k'",
        "id": "SELECT seq FROM jobs WHERE id = 'j'",
        "bisecting for since/until": "SELECT seq, created_at FROM jobs WHERE seq >= 5 "
        "ORDER BY seq LIMIT 1",
        "retention": "DELETE FROM jobs WHERE seq < 9 AND finished_at < 5",
        "children": "SELECT child_seq, child FROM parents WHERE parent = 'p' "
        "ORDER BY child_seq LIMIT 5",
        "unlinking what retention removes": "DELETE FROM parents WHERE child_seq <= 9",
    }
    for name, sql in plans.items():
        plan = " ".join(row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING" in plan and "TEMP B-TREE" not in plan, f"{name}: {plan}"
    # a type alone is four ranges of that index merged, a status alone one per type
    store.write(
        [insert(record(i, job_type="ab"[i % 2], status=STATUSES[i % 4])) for i in range(1, 30)], 29
    )
    assert ids(store.query(JobQuery(type="a", limit=5))) == [28, 26, 24, 22, 20]
    assert ids(store.query(JobQuery(status="dead", limit=3))) == [26, 22, 18]
    assert ids(store.query(JobQuery(status="failed", type="b", limit=2))) == [29, 25]
    store.close()


# -- the front: pending writes, consistent reads, recovery ---------------------------------


async def test_reads_see_what_is_recorded_before_it_is_written() -> None:
    history = History(MemoryHistory())
    await history.open()
    history.record(1, insert(record(1, key="k")))
    history.record(1, insert(record(2)))
    history.advance(1)
    assert await history.get("job-1") == record(1, key="k")
    assert (await history.by_keys(["k"]))["k"].seq == 1
    page, more = await history.query(JobQuery(limit=10))
    assert ids(page) == [2, 1] and not more
    page, more = await history.query(JobQuery(limit=1, ascending=True))
    assert ids(page) == [1] and more, "a page cut from records not yet written has more"
    await history.flush()
    history.record(2, Remove("job-2"))
    history.record(2, Purge(("succeeded",), None, None))
    assert await history.get("job-2") is None
    assert (await history.query(JobQuery(limit=10)))[0] == []
    assert await history.by_keys(["k"]) == {}


async def test_many_records_in_one_read_see_pending_writes_and_removals() -> None:
    history = History(MemoryHistory())
    await history.open()
    for i in (1, 2):
        history.record(i, insert(record(i)))
    await history.flush()
    history.record(3, insert(record(3)))
    history.record(3, Remove("job-1"))
    found = await history.get_many(["job-1", "job-2", "job-3", "job-9"])
    assert found == {"job-2": record(2), "job-3": record(3)}
    assert await history.get_many([]) == {}


async def test_removal_counts_come_back_once_written() -> None:
    history = History(MemoryHistory())
    await history.open()
    counts: list[int] = []
    for i in range(1, 6):
        history.record(i, insert(record(i, status="dead")))
    history.record(6, Purge(("dead",), None, None), counts.append)
    history.advance(6)
    assert counts == []
    await history.flush()
    assert counts == [5] and history.rows == 0 and history.written == 6


async def test_operations_the_store_already_holds_are_dropped_on_replay() -> None:
    disk = HistoryDisk()
    first = History(MemoryHistory(disk))
    await first.open()
    first.record(3, insert(record(1)))
    first.advance(3)
    await first.persist(3)
    # a crash, then the log is replayed from an older snapshot
    second = History(MemoryHistory(disk))
    assert await second.open() == 3
    seen: list[int] = []
    second.record(2, insert(record(1)))
    second.record(3, Purge(STATUSES, None, None), seen.append)
    second.record(4, insert(record(2)))
    second.advance(4)
    await second.flush()
    assert seen == [0], "entry 3 is in the store already: not removed twice"
    assert {r[1] for r in disk.visible.dump()} == {"job-1", "job-2"}


async def test_a_crash_keeps_a_prefix_of_unsynced_writes() -> None:
    disk = HistoryDisk()
    history = History(MemoryHistory(disk))
    await history.open()
    for i in range(1, 21):
        history.record(i, insert(record(i)))
        history.advance(i)
        await history.flush()
    disk.crash(random.Random(5))
    kept = History(MemoryHistory(disk))
    index = await kept.open()
    assert 0 < index < 20, "this seed keeps some writes and loses the rest"
    assert [r[0] for r in disk.visible.dump()] == list(range(1, index + 1))


async def test_persist_makes_it_survive_a_crash() -> None:
    disk = HistoryDisk()
    history = History(MemoryHistory(disk))
    await history.open()
    history.record(1, insert(record(1)))
    history.advance(1)
    await history.persist(1)
    disk.crash(random.Random(0))
    assert await History(MemoryHistory(disk)).open() == 1


def numbered(batch: list[Op]) -> list[Op]:
    """Each insert a job of its own (a record is inserted once), in seq order."""
    out: list[Op] = []
    for op in batch:
        if isinstance(op, tuple):
            seq = len(out) + 1
            status, kind = op[3], op[2]
            op = insert(record(seq, status=status, job_type=kind, finished=float(seq + seq % 7)))
        out.append(op)
    return out


ops = st.lists(
    st.one_of(
        st.builds(
            lambda status, kind: insert(record(0, status=status, job_type=kind)),
            st.sampled_from(STATUSES),
            st.sampled_from(("a", "b")),
        ),
        st.builds(lambda seq: Remove(f"job-{seq}"), st.integers(1, 40)),
        st.builds(
            Purge,
            st.sampled_from([("dead",), ("failed", "dead"), STATUSES]),
            st.sampled_from([None, "a"]),
            st.sampled_from([None, 3.0]),
        ),
        st.builds(Retain, st.sampled_from([None, 2.0, 30.0]), st.integers(0, 40)),
    ),
    max_size=40,
).map(numbered)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_sqlite_and_memory_agree(tmp_path_factory: pytest.TempPathFactory, batch: list[Op]) -> None:
    sqlite = SqliteHistory(tmp_path_factory.mktemp("h") / "h.db")
    memory = MemoryHistory()
    sqlite.open()
    memory.open()
    for start in range(0, len(batch), 7):
        ops_now = batch[start : start + 7]
        assert sqlite.write(ops_now, start + 1) == memory.write(ops_now, start + 1)
    everything = JobQuery(limit=1000, ascending=True)
    assert sqlite.query(everything) == memory.query(everything)
    for q in (
        JobQuery(type="a", limit=5),
        JobQuery(status="dead", limit=100),
        JobQuery(since=10.0, until=30.0, limit=100),
        JobQuery(since=17.5, type="b", limit=100, ascending=True),
    ):
        assert sqlite.query(q) == memory.query(q)
    for at in (0.0, 12.0, 25.5, 99.0):
        assert sqlite.finished_before(at) == memory.finished_before(at)
    sqlite.close()


def test_a_record_keeps_its_attempt_log_and_old_rows_still_read() -> None:
    log = appended(b"", 1, "w1", "error", "boom", 2.0)
    logged = attrs.evolve(record(1, status="dead"), attempts_log=log)
    row = pack_row(logged, logged.status, logged.finished_index)
    assert unpack_row(row) == logged
    # a row written before jobs had options, and one before attempts were logged: the
    # body lacks its last element, or its last two
    body = msgpack.unpackb(row[8], raw=False)
    before_options = (*row[:8], msgpack.packb(body[:-1], use_bin_type=True))
    assert unpack_row(before_options) == logged
    before_log = (*row[:8], msgpack.packb(body[:-2], use_bin_type=True))
    assert unpack_row(before_log) == attrs.evolve(logged, attempts_log=b"")


def test_a_record_keeps_its_options() -> None:
    options = JobOptions(
        depends_on=("a", "b"),
        on_parent_failure="skip",
        unique_key="nightly",
        retry=RetryPolicy(base_s=2.0, no_retry_exit_codes=(3,)),
        schedule="hourly",
        scheduled_for=3600.0,
    )
    kept = attrs.evolve(record(1, status="succeeded"), options=options)
    assert unpack_row(pack_row(kept, kept.status, kept.finished_index)) == kept


# -- children: a parent's final children, by an index --------------------------------------


def test_children_follow_their_records(backend: HistoryBackend) -> None:
    ops: list[Op] = [insert(record(1)), insert(record(2))]
    for seq in range(3, 9):
        ops += child(seq, "job-1", status=STATUSES[seq % 4])
    ops += child(9, "job-1", "job-2")
    assert backend.write(ops, 9) == [0] * len(ops), "a link removes nothing"
    assert backend.count() == 9, "links are not records"
    assert backend.children("job-1", 100) == [(s, f"job-{s}") for s in range(3, 10)]
    assert backend.children("job-1", 2) == [(3, "job-3"), (4, "job-4")]
    assert backend.children("job-2", 100) == [(9, "job-9")]
    assert backend.children("job-9", 100) == []
    backend.write([Remove("job-3"), Purge(("dead",), None, None), Retain(None, 5)], 10)
    # 3 deleted, 6 dead and purged, up to 5 retained away
    assert backend.children("job-1", 100) == [(7, "job-7"), (8, "job-8"), (9, "job-9")]
    if isinstance(backend, SqliteHistory):
        rows = backend.db.execute("SELECT parent, child_seq FROM parents ORDER BY 2, 1")
        assert rows.fetchall() == [("job-1", 7), ("job-1", 8), ("job-1", 9), ("job-2", 9)]


def test_a_follower_finds_children_of_what_it_received(
    backend: HistoryBackend, tmp_path: Path
) -> None:
    ops: list[Op] = [insert(record(1))]
    for seq in range(2, 40):
        ops += child(seq, "job-1")
    backend.write(ops, 40)
    target = install(backend, tmp_path, 40, 7)
    assert target.children("job-1", 100) == backend.children("job-1", 100)
    assert len(target.children("job-1", 100)) == 38
    target.close()


def test_sqlite_removals_touch_the_parents_table_once_it_holds_links(tmp_path: Path) -> None:
    store = SqliteHistory(tmp_path / "h.db")
    store.open()
    assert not store.linked, "no links yet: removals leave the parents table alone"
    store.write(child(2, "job-1"), 2)
    assert store.linked
    store.close()


async def test_children_see_pending_links_and_removals() -> None:
    history = History(MemoryHistory())
    await history.open()
    for op in [insert(record(1)), *child(2, "job-1"), *child(3, "job-1")]:
        history.record(1, op)
    await history.flush()
    for op in [*child(4, "job-1"), Remove("job-2")]:
        history.record(2, op)
    assert await history.children("job-1", 10) == [(3, "job-3"), (4, "job-4")]
    assert await history.children("job-1", 1) == [(3, "job-3")]
