"""Transition tables walked in full, the ready queue against a sorted model, backoff bounds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.backoff import Backoff
from actors.scheduler.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    JobStatus,
    WorkerState,
    transition,
)
from actors.scheduler.ready_queue import ReadyQueue


@pytest.mark.parametrize("kind", [JobStatus, WorkerState])
def test_every_pair_of_the_table(kind: type[JobStatus] | type[WorkerState]) -> None:
    for a, b in itertools.product(list(kind), repeat=2):
        if a is b or b in TRANSITIONS[a]:
            assert transition(a, b) is b  # type: ignore[type-var]
        else:
            with pytest.raises(IllegalTransition):
                transition(a, b)  # type: ignore[type-var]


def test_finished_jobs_stay_finished() -> None:
    assert not TRANSITIONS[JobStatus.SUCCEEDED] and not TRANSITIONS[JobStatus.CANCELLED]


ops = st.lists(
    st.tuples(
        st.sampled_from(["push", "remove", "peek"]),
        st.integers(0, 40),
        st.integers(0, 9),
        st.sampled_from("ab"),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_ready_queue_matches_a_sorted_model(steps: list[tuple[str, int, int, str]]) -> None:
    queue = ReadyQueue()
    model: dict[str, tuple[int, float, int, str, str]] = {}
    seq = 0
    for op, n, priority, job_type in steps:
        job_id = f"j{n}"
        if op == "push" and job_id not in model:
            seq += 1
            due = float(n % 7)
            queue.push(job_id, job_type, priority, due, seq)
            model[job_id] = (-priority, due, seq, job_id, job_type)
        elif op == "remove":
            assert queue.remove(job_id) == (job_id in model)
            model.pop(job_id, None)
        elif op == "peek":
            skip = {f"j{n}"}
            types = {job_type} if priority % 2 else {"a", "b"}
            expected = [k[3] for k in sorted(model.values()) if k[4] in types and k[3] not in skip]
            assert queue.peek_due(types, n % 10 + 1, skip) == expected[: n % 10 + 1]
        depth: dict[int, int] = {}
        for key in model.values():
            depth[-key[0]] = depth.get(-key[0], 0) + 1
        assert queue.depth_by_priority() == depth
    assert len(queue) == len(model)


def test_delayed_jobs_become_ready_at_their_time() -> None:
    queue = ReadyQueue()
    queue.delay("late", "a", 5, 10.0, 1)
    queue.delay("early", "a", 5, 5.0, 2)
    assert queue.promote(4.0, {"late", "early"}) == []
    assert queue.promote(5.0, {"late", "early"}) == ["early"]
    assert queue.next_run_at() == 10.0
    assert queue.promote(11.0, set()) == []  # cancelled meanwhile: dropped
    assert queue.peek_due({"a"}, 10) == ["early"]


@given(st.integers(1, 200), st.floats(0, 0.999))
def test_backoff_is_capped_and_jittered_down(attempt: int, draw: float) -> None:
    backoff = Backoff(base_s=1.0, multiplier=2.0, cap_s=60.0, jitter=0.5)
    delay = backoff.delay(attempt, draw)
    raw = min(60.0, 2.0 ** (attempt - 1))
    assert raw * 0.5 <= delay <= raw <= 60.0
