"""A batch's references between its jobs, checked before anything reaches the leader."""

from __future__ import annotations

from typing import Any

import pytest

from actors.gateway.batch_refs import check_refs
from actors.gateway.validation import BadRequest, JobRequest, parse_batch


def jobs(*bodies: dict[str, Any]) -> list[JobRequest]:
    return parse_batch({"jobs": [{"type": "noop", **b} for b in bodies]}, 0.0)


def test_chains_fan_ins_and_plain_ids_pass() -> None:
    check_refs(jobs({"ref": "a"}, {"ref": "b", "depends_on": ["ref:a"]}, {"depends_on": ["ref:b"]}))
    check_refs(
        jobs(
            {"ref": "x"},
            {"ref": "y"},
            {"depends_on": ["ref:x", "ref:y", "0194c2d0-some-job-id"]},
        )
    )
    check_refs(jobs({"depends_on": ["0194c2d0-some-job-id"]}))
    # a later sibling may be named too: order in the batch is not order of running
    check_refs(jobs({"depends_on": ["ref:late"]}, {"ref": "late"}))


@pytest.mark.parametrize(
    ("bodies", "message"),
    [
        (
            ({"depends_on": ["ref:nobody"]},),
            "jobs[0]: depends_on names 'ref:nobody', but no job in the batch has \"ref\": 'nobody'",
        ),
        (({"ref": "a"}, {"ref": "a"}), "jobs[1]: ref 'a' is already the ref of jobs[0]"),
        (
            (
                {"ref": "a", "depends_on": ["ref:c"]},
                {"ref": "b", "depends_on": ["ref:a"]},
                {"ref": "c", "depends_on": ["ref:b"]},
            ),
            "depends_on makes a cycle: ",
        ),
        (({"ref": "me", "depends_on": ["ref:me"]},), "cycle: jobs[0] (me) -> jobs[0] (me)"),
    ],
)
def test_bad_references_say_which_job(bodies: tuple[dict[str, Any], ...], message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_refs(jobs(*bodies))
    assert message in str(refused.value)
