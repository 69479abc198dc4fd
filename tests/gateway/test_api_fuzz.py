"""Fuzz the HTTP API of a real node process with hypothesis.

Requests are drawn around the documented schemas (OpenAPI ``JobSubmit``):
valid jobs, jobs with one field wrong in type or range, unknown fields,
random JSON, raw bytes that are not JSON, random ids and query strings. Each
answer must be a documented status with a JSON body (``{"error": ...}`` for
every 4xx), never a 5xx, and the node must keep serving afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.gateway.openapi import OPENAPI
from bench.loopback import LoopbackCluster
from tests.dev_node import dev_node, http_url

EXAMPLES = 300
FIELDS = sorted(OPENAPI["components"]["schemas"]["JobSubmit"]["properties"])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

valid_job = st.fixed_dictionaries(
    {"type": st.sampled_from(["noop", "sleep-nowhere", "x" * 50])},
    optional={
        "payload": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        "priority": st.integers(0, 9),
        "max_retries": st.integers(0, 10),
        "timeout_s": st.floats(0.1, 100),
        "delay_s": st.floats(0, 3600),
        "idempotency_key": st.text(min_size=1, max_size=30),
    },
)


@st.composite
def one_field_wrong(draw: st.DrawFn) -> dict[str, Any]:
    job = dict(draw(valid_job))
    field = draw(st.sampled_from([*FIELDS, "unknown_field"]))
    job[field] = draw(json_values)
    return job


bodies = st.one_of(
    valid_job.map(json.dumps),
    one_field_wrong().map(json.dumps),
    json_values.map(json.dumps),
    st.lists(one_field_wrong() | valid_job, min_size=1, max_size=5).map(
        lambda jobs: json.dumps({"jobs": jobs})
    ),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=40)
queries = st.dictionaries(
    st.sampled_from(["status", "type", "limit", "cursor", "stale", "junk"]),
    st.text(max_size=10),
    max_size=3,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "fuzz")


def check(answer: httpx.Response) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text)
    body = answer.json()
    if answer.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(["/api/v1/jobs", "/api/v1/jobs/batch"]),
    body=bodies,
    job_id=ids,
    query=queries,
)
def test_fuzzed_requests_get_documented_answers(
    node: LoopbackCluster, target: str, body: str, job_id: str, query: dict[str, str]
) -> None:
    http = http_url(node)
    client = node.client
    check(client.post(f"{http}{target}", content=body.encode("utf-8", "surrogatepass")))
    check(client.get(f"{http}/api/v1/jobs/{job_id}", params=query))
    check(client.get(f"{http}/api/v1/jobs", params=query))
    check(client.post(f"{http}/api/v1/jobs/{job_id}/cancel"))


def test_the_node_still_serves_after_the_fuzzing(node: LoopbackCluster) -> None:
    http = http_url(node)
    assert node.client.get(f"{http}/health").status_code == 200
    answer = node.client.post(f"{http}/api/v1/jobs", json={"type": "noop"})
    assert answer.status_code == 201
    assert node.masters["m1"].alive
