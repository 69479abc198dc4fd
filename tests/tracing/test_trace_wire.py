"""The trace context on the wire and in the log: old entries still read, and a job sent
again is the same job whatever trace each sending started."""

from __future__ import annotations

import msgpack

from actors.scheduler.records import same_body
from transport.cluster import Assignment, JobSpec
from transport.codec import decode, encode
from transport.job_options import JobOptions, untraced

TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def without_last_field(data: bytes) -> bytes:
    """``data`` as a peer (or a log entry) from before the last field was appended."""
    version, tag, fields = msgpack.unpackb(data, raw=False)
    return msgpack.packb([version, tag, fields[:-1]], use_bin_type=True)


def test_options_and_assignments_written_before_the_trace_field_still_decode() -> None:
    options = JobOptions(owner="ada", traceparent=TRACEPARENT)
    assert decode(encode(options)) == options
    assert decode(without_last_field(encode(options))) == JobOptions(owner="ada")
    assignment = Assignment("j", 1, "noop", b"\xc0", None, b"", TRACEPARENT)
    assert decode(encode(assignment)) == assignment
    assert decode(without_last_field(encode(assignment))).traceparent == ""


def spec(options: JobOptions | None) -> JobSpec:
    return JobSpec("noop", b"\xc0", 5, 3, None, None, "key", options)


def test_a_job_sent_again_under_another_trace_is_the_same_job() -> None:
    traced = JobOptions(traceparent=TRACEPARENT)
    assert untraced(traced) is None
    assert same_body(spec(None), spec(traced))
    assert same_body(
        spec(JobOptions(unique_key="u")),
        spec(JobOptions(unique_key="u", traceparent=TRACEPARENT)),
    )
    assert not same_body(spec(None), spec(JobOptions(unique_key="u", traceparent=TRACEPARENT)))
    assert traced.trace_id == "a" * 32 and JobOptions().trace_id is None
