"""The snapshot codec: live state only, in pieces, and a format version a restore checks."""

from __future__ import annotations

import hashlib

import msgpack
import pytest

from actors.scheduler import snapshot_codec
from actors.scheduler.dependencies import RELEASE_STEP
from actors.scheduler.snapshot_codec import SnapshotFormatError
from actors.scheduler.state import JobStateMachine
from tests.scheduler.tables import report, run
from transport.commands import (
    AssignCmd,
    AssignmentCmd,
    NewJob,
    RegisterWorkerCmd,
    ReportCmd,
    ReportItem,
    SetRetentionCmd,
    SubmitCmd,
)
from transport.job_options import JobOptions


def table(jobs: int) -> JobStateMachine:
    sm = JobStateMachine()
    sm.apply_command(RegisterWorkerCmd(0.0, "w1", 8, ("noop",), 3))
    sm.apply_command(SetRetentionCmd(0.0, 60.0, 1000))
    specs = tuple(
        NewJob(f"j{i}", "noop", b"\x80", i % 10, 3, None, 50.0 if i % 3 == 0 else None, f"k{i}")
        for i in range(jobs)
    )
    sm.apply_command(SubmitCmd(1.0, specs))
    sm.apply_command(AssignCmd(2.0, (AssignmentCmd("j1", "w1", 1, 12.0),)))
    return sm


def test_pieces_restore_the_same_table() -> None:
    sm = table(25)
    pieces = list(snapshot_codec.encode_pieces(sm, rows_per_piece=4))
    assert len(pieces) == 1 + 7, "a header, then rows in pieces"
    copy = JobStateMachine()
    steps = list(snapshot_codec.restore_steps(copy, b"".join(pieces)))
    assert len(steps) == len(pieces)
    assert b"".join(snapshot_codec.encode_pieces(copy)) == b"".join(
        snapshot_codec.encode_pieces(sm)
    )
    assert copy.retention == sm.retention and copy.worker("w1").running == {"j1"}  # type: ignore[union-attr]
    assert copy.worker("w1").prefetch == 3  # type: ignore[union-attr]
    assert [j.id for j in copy.due_jobs({"noop"}, 30)] == [j.id for j in sm.due_jobs({"noop"}, 30)]
    assert copy.known_key("k5") == ("j5", "pending")


def test_a_worker_row_from_before_prefetch_restores_without_a_queue() -> None:
    sm = table(1)
    header_piece, *rows = snapshot_codec.encode_pieces(sm)
    form, header = msgpack.unpackb(header_piece, raw=False)
    header["workers"] = [row[:5] for row in header["workers"]]
    old = msgpack.packb([form, header], use_bin_type=True)
    copy = JobStateMachine()
    list(snapshot_codec.restore_steps(copy, old + b"".join(rows)))
    worker = copy.worker("w1")
    assert worker is not None and worker.capacity == 8 and worker.prefetch == 0


def test_size_follows_live_jobs() -> None:
    small, large = table(10), table(1000)
    size = len(b"".join(snapshot_codec.encode_pieces(small)))
    assert len(b"".join(snapshot_codec.encode_pieces(large))) > 50 * size


def test_the_format_before_the_history_is_a_clear_error() -> None:
    old = msgpack.packb([[["j1", "noop"]], [], [0, 0, 0, {}, []]])
    with pytest.raises(SnapshotFormatError, match=r"format 1 .* this podium reads format 2"):
        snapshot_codec.restore(JobStateMachine(), old)


def test_a_newer_format_is_a_clear_error() -> None:
    future = msgpack.packb([3, {"anything": 1}])
    with pytest.raises(SnapshotFormatError, match="format 3 is not supported"):
        snapshot_codec.restore(JobStateMachine(), future)


@pytest.mark.parametrize("data", [b"", b"\xc1garbage", msgpack.packb("hello")])
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(SnapshotFormatError):
        snapshot_codec.restore(JobStateMachine(), data)


def test_a_truncated_snapshot_is_refused() -> None:
    pieces = list(snapshot_codec.encode_pieces(table(30), rows_per_piece=10))
    with pytest.raises(SnapshotFormatError, match="truncated"):
        snapshot_codec.restore(JobStateMachine(), b"".join(pieces[:-1]))


# sha256 of every_piece_kind()'s snapshot in pieces of 3 rows, as format 2 writes it
GOLDEN = "5a514c42b80176461820ecd2961a44ca8bc66aae074f41cd2041cf440bc5ebcc"


def every_piece_kind() -> JobStateMachine:
    """A table with recent keys, live jobs, final parents and blocked jobs still to be
    looked at: every kind of piece a snapshot holds."""
    sm = table(12)
    sm.apply_command(AssignCmd(2.0, tuple(AssignmentCmd(f"j{i}", "w1", 1, 12.0) for i in (2, 4))))
    done = tuple(ReportItem(f"j{i}", 1, True, msgpack.packb(i), "", False, 0.0) for i in (1, 2, 4))
    sm.apply_command(ReportCmd(3.0, "w1", done))
    waiting = JobOptions(depends_on=("p", "q"))
    children = tuple(
        NewJob(f"c{i}", "noop", b"\x80", 0, 0, None, None, None, waiting)
        for i in range(RELEASE_STEP + 7)
    )
    parents = tuple(NewJob(p, "noop", b"\x80", 9, 0, None, None, None) for p in ("p", "q"))
    sm.apply_command(SubmitCmd(4.0, (*parents, *children)))
    run(sm, "p", 1, 5.0)
    report(sm, "p", 1, True, 6.0, result={"rows": 3})
    assert len(sm.recent_keys) == 3 and sm.deps.finals and len(sm.deps.candidates) == 7
    return sm


def test_the_pieces_are_the_bytes_they_always_were() -> None:
    """Followers compare and restore these bytes: how the rows are cut into pieces must
    not change them (the digest is of the pieces this format has always written)."""
    pieces = list(snapshot_codec.encode_pieces(every_piece_kind(), rows_per_piece=3))
    kinds = [msgpack.unpackb(piece)[0] for piece in pieces[1:]]
    assert [(k, kinds.count(k)) for k in dict.fromkeys(kinds)] == [
        ("k", 1),
        ("j", 347),
        ("f", 1),
        ("c", 3),
    ]
    assert hashlib.sha256(b"".join(pieces)).hexdigest() == GOLDEN
