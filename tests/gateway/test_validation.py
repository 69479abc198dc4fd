from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.gateway.validation import BadRequest, JobRequest, parse_batch, parse_job
from transport.job_options import JobOptions, RetryPolicy

NOW = 1_800_000_000.0


def test_defaults() -> None:
    assert parse_job({"type": "noop"}, NOW) == JobRequest("noop", {}, 5, 3, None, None, None)


def test_every_field() -> None:
    job = parse_job(
        {
            "type": "shell",
            "payload": {"argv": ["true"]},
            "priority": 9,
            "max_retries": 0,
            "timeout_s": 2.5,
            "delay_s": 10,
            "idempotency_key": "k1",
        },
        NOW,
    )
    assert job == JobRequest("shell", {"argv": ["true"]}, 9, 0, 2.5, NOW + 10, "k1")


def test_run_at_accepts_epoch_and_iso() -> None:
    assert parse_job({"type": "noop", "run_at": 5}, NOW).run_at == 5.0
    iso = parse_job({"type": "noop", "run_at": "2027-01-15T08:00:00Z"}, NOW)
    assert iso.run_at == 1_800_000_000.0
    with pytest.raises(BadRequest, match="time zone"):
        parse_job({"type": "noop", "run_at": "2027-01-15T08:00:00"}, NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "type must be a non-empty string"),
        ({"type": ""}, "type must be a non-empty string"),
        ({"type": "noop", "priority": 10}, "priority must be an integer from 0 to 9, got 10"),
        ({"type": "noop", "priority": -1}, "priority must be an integer from 0 to 9"),
        ({"type": "noop", "priority": "high"}, "priority must be an integer"),
        ({"type": "noop", "priority": True}, "priority must be an integer"),
        ({"type": "noop", "max_retries": -1}, "max_retries must be an integer from 0"),
        ({"type": "noop", "timeout_s": 0}, "timeout_s must be greater than 0"),
        ({"type": "noop", "timeout_s": "1s"}, "timeout_s must be a number"),
        ({"type": "noop", "delay_s": -5}, "delay_s must be at least 0"),
        ({"type": "noop", "delay_s": 1, "run_at": 2}, "not both"),
        ({"type": "noop", "payload": [1, 2]}, "payload must be a JSON object, got list"),
        ({"type": "noop", "payload": "x"}, "payload must be a JSON object, got str"),
        ({"type": "noop", "colour": "red"}, "unknown field"),
        ({"type": "noop", "idempotency_key": 7}, "idempotency_key must be"),
        # built-in types' payloads are checked at submit, naming the field
        ({"type": "shell", "payload": {}}, "a shell job needs payload.argv"),
        ({"type": "shell"}, "a shell job needs payload.argv"),
        ({"type": "shell", "payload": {"argv": "echo hi"}}, r"payload.argv must be .* \(got str"),
        ({"type": "shell", "payload": {"argv": []}}, "payload.argv must be a non-empty list"),
        ({"type": "shell", "payload": {"argv": ["ls", 1]}}, "payload.argv must be"),
        ({"type": "shell", "payload": {"cmd": ""}}, "payload.cmd must be a non-empty string"),
        ({"type": "shell", "payload": {"cmd": "ls", "env": {"A": 1}}}, "payload.env must map"),
        ({"type": "shell", "payload": {"cmd": "ls", "cwd": 3}}, "payload.cwd must be a string"),
        ({"type": "sleep", "payload": {}}, r"payload.seconds must be a number >= 0.*got None"),
        ({"type": "sleep", "payload": {"seconds": -1}}, "payload.seconds must be a number >= 0"),
        ({"type": "sleep", "payload": {"seconds": "1"}}, "payload.seconds must be a number"),
    ],
)
def test_bad_jobs_say_what_is_wrong(body: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_job(body, NOW)


def test_good_built_in_payloads_pass() -> None:
    for job_type, payload in [
        ("shell", {"argv": ["echo", "hi"], "env": {"A": "1"}, "cwd": "/tmp"}),
        ("shell", {"cmd": "echo hi"}),
        ("sleep", {"seconds": 0}),
        ("noop", {"anything": [1]}),
        ("mytype", {"argv": "not checked: a handler's own payload"}),
    ]:
        assert parse_job({"type": job_type, "payload": payload}, NOW).payload == payload


def test_batch_errors_name_the_job() -> None:
    assert len(parse_batch({"jobs": [{"type": "noop"}] * 3}, NOW)) == 3
    with pytest.raises(BadRequest, match=r"jobs\[1\]: priority"):
        parse_batch({"jobs": [{"type": "noop"}, {"type": "noop", "priority": 99}]}, NOW)
    for bad in ({"jobs": []}, {"jobs": {}}, {"job": []}, [], {"jobs": [], "x": 1}):
        with pytest.raises(BadRequest):
            parse_batch(bad, NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["type", "payload", "priority", "max_retries", "timeout_s", "delay_s", "run_at", "x"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields, json_values, max_size=6) | json_values)
def test_any_json_is_accepted_or_rejected_cleanly(body: Any) -> None:
    try:
        job = parse_job(body, NOW)
    except BadRequest:
        return
    assert 0 <= job.priority <= 9 and job.max_retries >= 0
    assert job.timeout_s is None or job.timeout_s > 0


def test_workflow_fields_become_options() -> None:
    job = parse_job(
        {
            "type": "noop",
            "depends_on": ["a", "b", "a"],
            "on_parent_failure": "skip",
            "unique_key": "nightly",
            "retry": {"max_retries": 7, "base_s": 2, "no_retry_exit_codes": [3, 1]},
        },
        0.0,
    )
    assert job.max_retries == 7
    assert job.options == JobOptions(
        depends_on=("a", "b"),
        on_parent_failure="skip",
        unique_key="nightly",
        retry=RetryPolicy(base_s=2.0, no_retry_exit_codes=(1, 3)),
    )
    assert parse_job({"type": "noop"}, 0.0).options is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"depends_on": "a"}, "depends_on must be a list of job ids"),
        ({"depends_on": ["ref:x"]}, "only in a batch"),
        ({"on_parent_failure": "maybe"}, "on_parent_failure must be one of fail, skip, run"),
        ({"unique_key": ""}, "unique_key must be a non-empty string"),
        ({"retry": {"tries": 3}}, "unknown retry field(s) tries"),
        ({"retry": {"jitter": 2}}, "retry.jitter must be a fraction"),
        ({"retry": {"multiplier": 0.5}}, "retry.multiplier must be at least 1"),
        ({"retry": {"no_retry_exit_codes": ["1"]}}, "retry.no_retry_exit_codes must be a list"),
        ({"max_retries": 2, "retry": {"max_retries": 3}}, "not two different values"),
        ({"ref": "a"}, "unknown field(s) ref"),
    ],
)
def test_bad_workflow_fields_say_what_is_wrong(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_job({"type": "noop", **body}, 0.0)
    assert message in str(err.value)


def test_a_batch_job_may_carry_a_ref() -> None:
    jobs = parse_batch(
        {"jobs": [{"type": "noop", "ref": "a"}, {"type": "noop", "depends_on": ["ref:a"]}]}, 0.0
    )
    assert jobs[0].ref == "a"
    assert jobs[1].options == JobOptions(depends_on=("ref:a",))
