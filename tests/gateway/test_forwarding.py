"""Which requests the gateway may send again after a forward went unanswered."""

from __future__ import annotations

from actors.gateway.app import resendable
from actors.gateway.http_common import ApiError
from transport.cluster import (
    CancelJob,
    GetCluster,
    GetJob,
    GetJobs,
    JobSpec,
    Linearizable,
    PurgeJobs,
    SubmitJobs,
)


def spec(key: str | None) -> JobSpec:
    return JobSpec("noop", b"\x80", 5, 3, None, None, key)


def test_reads_and_fully_keyed_submits_are_sent_again_anything_else_is_in_doubt() -> None:
    assert resendable(Linearizable(GetJob("j")))
    assert resendable(GetCluster())
    assert resendable(GetJobs(("j", "k")))  # a stale read of many jobs, as a waiter polls
    assert resendable(SubmitJobs((spec("a"), spec("b"))))
    # one job without a key could be made twice
    assert not resendable(SubmitJobs((spec("a"), spec(None))))
    assert not resendable(SubmitJobs((spec(None),)))
    assert not resendable(CancelJob("j"))
    assert not resendable(PurgeJobs(("dead",), None, None))


def test_a_503_says_when_to_come_back_other_refusals_do_not() -> None:
    assert ApiError(503, "no leader").retry_after == 1
    assert ApiError(507, "disk full on m2: database or disk is full").retry_after is None
    assert ApiError(400, "bad").retry_after is None
