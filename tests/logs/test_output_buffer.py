"""The bounded capture of one attempt (head and tail) and the worker's shelf of them."""

from __future__ import annotations

import pytest

from actors.worker.output import HeadTail, RecentOutputs
from tests.logs.captures import cut, rendered
from transport.output_messages import cut_marker


def test_output_under_the_limit_is_kept_whole() -> None:
    buf = HeadTail(100)
    buf.write(b"hello ")
    buf.write(b"world\n")
    assert rendered(buf) == b"hello world\n" and cut(buf) == 0 and buf.total == 12


def test_over_the_limit_keeps_head_and_tail_and_says_what_was_cut() -> None:
    buf = HeadTail(10)
    for n in range(100):
        buf.write(str(n % 10).encode())
    assert buf.head == b"01234"
    assert buf.tail == b"56789"
    assert cut(buf) == 90 and buf.total == 100
    assert rendered(buf) == b"01234" + cut_marker(90) + b"56789"


def test_a_single_large_write_is_split_between_head_and_tail() -> None:
    buf = HeadTail(8)
    buf.write(bytes(range(50)))
    assert rendered(buf) == bytes(range(4)) + cut_marker(42) + bytes(range(46, 50))


@pytest.mark.parametrize("size", [1, 3, 7, 64, 1000])
def test_memory_stays_bounded_whatever_the_write_size(size: int) -> None:
    buf = HeadTail(64)
    for _ in range(2000):
        buf.write(b"x" * size)
        assert len(buf.head) + len(buf._tail) <= 32 + 2 * 32 + size
    assert len(rendered(buf)) <= 64 + len(cut_marker(cut(buf)))


def test_reads_resume_at_an_offset_and_mark_a_gap_that_was_cut() -> None:
    buf = HeadTail(10)
    buf.write(b"abcdefghij")
    assert buf.read(0, 3) == (b"abc", 3)
    assert buf.read(3, 100) == (b"defghij", 10)
    assert buf.read(10, 100) == (b"", 10)
    buf.write(b"KLMNOPQRST")  # abcde kept; fghijKLMNO cut; PQRST kept
    data, offset = buf.read(7, 100)
    assert data == cut_marker(8) + b"PQRST" and offset == 20


def test_a_tiny_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        HeadTail(1)


def test_the_shelf_keeps_running_and_the_last_finished_attempts() -> None:
    shelf = RecentOutputs(limit=100, keep=2)
    for n in range(4):
        shelf.start(f"j{n}", 1).write(b"out")
    shelf.start("quiet", 1)
    shelf.finish("quiet", 1)  # printed nothing: nothing to keep
    assert shelf.get("quiet", 1) is None
    for n in range(3):
        shelf.finish(f"j{n}", 1)
    assert shelf.get("j0", 1) is None  # the oldest finished one made room
    assert [shelf.get(f"j{n}", 1) is not None for n in range(1, 4)] == [True, True, True]
    held = shelf.get("j3", 1)
    assert held is not None and held[1] is True  # still running
    finished = shelf.get("j2", 1)
    assert finished is not None and finished[1] is False
