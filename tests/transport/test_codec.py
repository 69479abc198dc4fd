import contextlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transport.messages import Note
from transport.cluster import AssignJobs, Assignment, JobSpec, WorkerHello
from transport.codec import PROTOCOL_VERSION, DecodeError, decode, encode
from transport.commands import RegisterWorkerCmd
from transport.envelope import Envelope


def test_round_trip_of_nested_messages() -> None:
    msg = Envelope("n1", "a", "b", 3, True, AssignJobs((Assignment("j", 1, "noop", b"\x80", 2.5),)))
    assert decode(encode(msg)) == msg


@given(
    st.text(),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(),
    st.none() | st.floats(allow_nan=False),
    st.none() | st.text(),
)
def test_round_trip_property(
    text: str, n: int, blob: bytes, f: float | None, key: str | None
) -> None:
    spec = JobSpec(text, blob, n, n, f, f, key)
    assert decode(encode(spec)) == spec


def raw(*frame: object) -> bytes:
    return msgpack.packb(list(frame), use_bin_type=True)


def test_an_entry_written_before_a_field_was_appended_takes_its_default() -> None:
    # a Raft log on disk keeps commands encoded before ``prefetch`` existed
    old = raw(PROTOCOL_VERSION, "j.register", [1.0, "w1", 4, ["noop"]])
    assert decode(old) == RegisterWorkerCmd(1.0, "w1", 4, ("noop",), 0)
    hello = raw(PROTOCOL_VERSION, "w.hello", ["w1", 4, [], []])
    assert decode(hello) == WorkerHello("w1", 4, (), (), 0)
    with pytest.raises(DecodeError, match="expected 5 fields, got 3"):
        decode(raw(PROTOCOL_VERSION, "j.register", [1.0, "w1", 4]))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xc1", "not msgpack"),
        (raw(PROTOCOL_VERSION, "ttest.note"), "must be \\[version, tag, fields\\]"),
        (raw(99, "ttest.note", [1, "x"]), "unsupported protocol version 99"),
        (raw(PROTOCOL_VERSION, "nope", []), "unknown message tag 'nope'"),
        (raw(PROTOCOL_VERSION, 5, []), "tag must be a string"),
        (raw(PROTOCOL_VERSION, "ttest.note", [1]), "expected 2 fields, got 1"),
        (raw(PROTOCOL_VERSION, "ttest.note", ["1", "x"]), "expected int, got str"),
        (raw(PROTOCOL_VERSION, "ttest.note", [True, "x"]), "expected int, got bool"),
        (raw(PROTOCOL_VERSION, "ttest.note", [1, 2]), "expected str, got int"),
        (raw(PROTOCOL_VERSION, "ttest.note", {"n": 1}), "fields must be an array"),
        (raw(PROTOCOL_VERSION, "env", ["a", "b", "c", 0, False, ["ttest.note"]]), "nested"),
        (encode(Note(1, "x")) + b"\x00", "not msgpack"),
    ],
)
def test_bad_input_is_a_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(data)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
    lambda kids: st.lists(kids, max_size=4),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["ttest.note", "env", "c.submit", "w.assign", "raft.entry"]), json_like)
def test_random_fields_for_real_tags_only_raise_decode_error(tag: str, fields: object) -> None:
    with contextlib.suppress(DecodeError):
        decode(raw(PROTOCOL_VERSION, tag, fields))
