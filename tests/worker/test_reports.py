"""A worker's reports: several large results never share one frame."""

from __future__ import annotations

import trio

from actors.worker.agent import WorkerActor, _Job
from actors.worker.capture import MAX_RESULT_BYTES
from actors.worker.handlers import HandlerRegistry, JobOutcome
from transport.cluster import Assignment, JobReport, ReportJobs, RunningJob
from transport.codec import encode
from transport.frames import MAX_FRAME_SIZE


def _job(key: RunningJob, outcome: JobOutcome | None = None) -> _Job:
    assignment = Assignment(key.job_id, key.attempt, "noop", b"\xc0", None)
    return _Job(key, trio.CancelScope(), assignment, outcome)


def test_large_results_are_cut_into_reports_that_each_fit_a_frame() -> None:
    worker = WorkerActor("w1", ["m1"], HandlerRegistry(), capacity=4)
    big = b"x" * (MAX_RESULT_BYTES // 2 + 1)
    for n in range(3):
        key = RunningJob(f"j{n}", 1)
        worker.jobs[key] = _job(key, JobOutcome(True, big, "", False))
    small = RunningJob("small", 1)
    worker.jobs[small] = _job(small, JobOutcome(True, 1, "", False))
    worker.jobs[RunningJob("running", 1)] = _job(RunningJob("running", 1))
    batches: list[list[tuple[RunningJob, JobReport]]] = []
    worker._start_report = batches.append  # type: ignore[method-assign,assignment]
    worker._report_finished()
    assert [[key.job_id for key, _ in batch] for batch in batches] == [
        ["j0"],
        ["j1"],
        ["j2", "small"],
    ]
    for batch in batches:
        assert sum(len(r.result) + len(r.error) for _, r in batch) <= MAX_RESULT_BYTES
        assert len(encode(ReportJobs("w1", tuple(r for _, r in batch)))) <= MAX_FRAME_SIZE
