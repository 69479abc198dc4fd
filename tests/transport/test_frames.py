import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transport.frames import FrameDecoder, FrameError, frame


@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(1, 50))
def test_frames_survive_any_chunking(bodies: list[bytes], chunk: int) -> None:
    stream = b"".join(frame(b) for b in bodies)
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(stream), chunk):
        out.extend(decoder.feed(stream[i : i + chunk]))
    assert out == bodies
    assert decoder.buffered == 0


def test_oversized_length_is_refused_before_reading_the_body() -> None:
    decoder = FrameDecoder(max_size=1024)
    with pytest.raises(FrameError, match="1025-byte frame; the limit is 1024"):
        decoder.feed(b"\x00\x00\x04\x01")
    with pytest.raises(FrameError):
        frame(b"x" * 2000, max_size=1024)


def test_truncation_is_visible() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(frame(b"hello")[:-2]) == []
    assert decoder.buffered == 7


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_random_bytes_only_raise_frame_error(data: bytes) -> None:
    decoder = FrameDecoder(max_size=64)
    with contextlib.suppress(FrameError):
        decoder.feed(data)
