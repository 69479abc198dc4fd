"""AttemptFence: older terms are refused, an attempt that ran is not run again."""

from __future__ import annotations

from actors.worker.fence import AttemptFence
from transport.cluster import RunningJob


def test_an_assignment_from_an_older_term_is_refused() -> None:
    fence = AttemptFence()
    assert fence.refusal(3) is None
    assert fence.term == 3
    assert fence.refusal(3) is None  # the same leader again
    assert fence.refusal(2) == "stale term"
    assert fence.refusal(5) is None
    assert fence.refusal(4) is not None


def test_a_term_heard_in_a_welcome_or_heartbeat_deposes_older_leaders() -> None:
    fence = AttemptFence()
    fence.saw_term(7)
    fence.saw_term(6)  # a late answer from an older leader does not lower it
    assert fence.term == 7
    assert fence.refusal(6) is not None
    assert fence.refusal(0) is not None  # an assignment stamped by no leader
    assert fence.refusal(7) is None


def test_an_attempt_that_ran_is_remembered_for_its_span_then_forgotten() -> None:
    fence = AttemptFence()
    first, second = RunningJob("j1", 1), RunningJob("j2", 1)
    fence.finished(first, now=10.0, keep_s=2.0)
    fence.finished(second, now=11.0, keep_s=2.0)
    assert fence.ran(first) and fence.ran(second)
    assert not fence.ran(RunningJob("j1", 2))  # the next attempt is another execution
    fence.finished(RunningJob("j3", 1), now=12.5, keep_s=2.0)
    assert not fence.ran(first) and fence.ran(second)


def test_memory_follows_the_recent_jobs_not_every_job_ever_run() -> None:
    fence = AttemptFence()
    for n in range(10_000):
        fence.finished(RunningJob(f"j{n}", 1), now=n * 0.01, keep_s=1.0)
    assert len(fence) <= 101
    assert fence.ran(RunningJob("j9999", 1)) and not fence.ran(RunningJob("j0", 1))


def test_an_assignment_made_before_the_worker_registered_again_is_refused() -> None:
    """A worker declared lost and registered anew at log index 40 refuses an assignment
    committed at 35 (delayed on the way), and takes one from 41 or one that says no
    index (an older leader's)."""
    fence = AttemptFence()
    fence.saw_registration(40)
    fence.saw_registration(12)  # a late welcome from before does not lower it
    assert fence.registered == 40
    assert fence.refusal(3, 35) == "stale registration"
    assert fence.refusal(3, 41) is None
    assert fence.refusal(3, 0) is None
