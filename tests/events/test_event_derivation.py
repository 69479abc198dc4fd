"""Events derived from applied commands: each kind, their ids, and the same on a master
restored from another's snapshot."""

from __future__ import annotations

import attrs

from actors.master.events import parse_event_id
from actors.scheduler import snapshot_codec
from tests.events.nodes import Applied, kinds, new, report, started_node
from tests.scheduler.tables import assign
from transport.cluster import RunningJob
from transport.codec import Message
from transport.commands import (
    CancelCmd,
    DeregisterWorkerCmd,
    ExpireLeasesCmd,
    ExpireWorkerCmd,
    RegisterWorkerCmd,
    RetryCmd,
    SubmitCmd,
)
from transport.job_options import JobOptions
from transport.limit_commands import CancelManyCmd
from transport.progress import JobProgress


def test_a_job_submitted_started_and_finished() -> None:
    node = Applied()
    joined = node.apply(RegisterWorkerCmd(0.0, "w1", 2, ("noop",)))
    assert kinds(joined) == [("worker.joined", None, None)]
    assert joined[0].body()["capacity"] == 2 and joined[0].worker == "w1"
    submitted = node.apply(SubmitCmd(1.0, (new("a"), new("b"))))
    assert kinds(submitted) == [("job.submitted", "a", None), ("job.submitted", "b", None)]
    assert [e.id for e in submitted] == ["2-0", "2-1"]
    started = node.apply(assign("a", 1, 2.0))
    assert kinds(started) == [("job.started", "a", "running")]
    assert (started[0].worker, started[0].attempt, started[0].time) == ("w1", 1, 2.0)
    finished = node.apply(report("a", 1, True, 3.0))
    assert kinds(finished) == [("job.finished", "a", "succeeded")]
    assert finished[0].body() == {
        "id": "4-0", "type": "job.finished", "time": 3.0, "job": "a",
        "status": "succeeded", "worker": "w1", "attempt": 1, "job_type": "noop",
    }  # fmt: skip


def test_a_failure_is_retried_then_dead_with_its_error() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a", retries=1),)))
    node.apply(assign("a", 1, 2.0))
    retried = node.apply(report("a", 1, False, 3.0))
    assert kinds(retried) == [("job.retried", "a", "scheduled")]
    assert retried[0].body()["reason"] == "error"
    node.apply(assign("a", 2, 10.0))
    dead = node.apply(report("a", 2, False, 11.0))
    assert kinds(dead) == [("job.dead", "a", "dead")]
    assert dead[0].body()["error"] == "boom"  # the first line only


def test_a_stale_assignment_or_report_makes_no_event() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"),)))
    node.apply(assign("a", 1, 2.0))
    assert node.apply(assign("a", 1, 2.5)) == []  # a repeat of the same attempt
    assert node.apply(report("a", 7, True, 3.0)) == []  # another attempt's report


def test_a_lost_worker_retries_its_jobs_and_is_lost_once() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"),)))
    node.apply(assign("a", 1, 2.0))
    lost = node.apply(ExpireWorkerCmd(20.0, "w1", (0.0,)))
    assert kinds(lost) == [("job.retried", "a", "scheduled"), ("worker.lost", None, None)]
    assert lost[0].body()["reason"] == "lease_expired"
    assert node.apply(ExpireWorkerCmd(21.0, "w1", (0.0,))) == []


def test_an_expired_lease_a_cancel_and_a_leaving_worker() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"), new("b"), new("c"))))
    node.apply(assign("a", 1, 2.0))
    expired = node.apply(ExpireLeasesCmd(20.0, (RunningJob("a", 1),), (0.0,)))
    assert kinds(expired) == [("job.retried", "a", "scheduled")]
    assert kinds(node.apply(CancelCmd(21.0, "b"))) == [("job.finished", "b", "cancelled")]
    cancelled = node.apply(CancelManyCmd(22.0, ("c",), None, (), None))
    assert kinds(cancelled) == [("job.finished", "c", "cancelled")]
    assert kinds(node.apply(DeregisterWorkerCmd(23.0, "w1"))) == [("worker.left", None, None)]


def test_a_failed_parent_ends_its_child_in_the_same_entry() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("p", retries=0),)))
    child = new("c", options=JobOptions(depends_on=("p",)))
    assert kinds(node.apply(SubmitCmd(1.5, (child,)))) == [("job.submitted", "c", None)]
    node.apply(assign("p", 1, 2.0))
    ended = node.apply(report("p", 1, False, 3.0))
    assert kinds(ended) == [("job.dead", "p", "dead"), ("job.dead", "c", "dead")]


def test_a_manual_retry_is_a_retried_event() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a", retries=0),)))
    node.apply(assign("a", 1, 2.0))
    node.apply(report("a", 1, False, 3.0))
    [(index, job)] = node.left
    retried = node.apply(RetryCmd(4.0, "a", job.record(index)))
    assert kinds(retried) == [("job.retried", "a", "pending")]
    assert retried[0].body()["reason"] == "manual"


# a run that leaves something for a snapshot to carry at every cut: a registered worker,
# running attempts, a retry's backoff, a blocked child, an owner, a lease to lose
ACROSS_A_SNAPSHOT: list[Message] = [
    RegisterWorkerCmd(0.0, "w1", 4, ("noop",)),
    SubmitCmd(
        1.0, (new("a", retries=2), new("b", options=JobOptions(owner="ada")), new("p", retries=0))
    ),
    SubmitCmd(1.5, (new("c", options=JobOptions(depends_on=("p",))),)),
    assign("a", 1, 2.0),
    report("a", 1, False, 3.0),
    assign("b", 1, 3.5),
    assign("p", 1, 3.6),
    report("b", 1, True, 4.0),
    report("p", 1, False, 4.5),
    assign("a", 2, 10.0),
    ExpireWorkerCmd(30.0, "w1", (0.0,)),
    RegisterWorkerCmd(40.0, "w2", 1, ("noop",)),
    assign("a", 3, 100.0, worker="w2"),
    report("a", 3, True, 101.0, worker="w2"),
]


def restored_from(source: Applied) -> Applied:
    """A second master that installs ``source``'s snapshot, as ``_JobLog.install`` does."""
    node = Applied()
    snapshot = b"".join(snapshot_codec.encode_pieces(source.table, rows_per_piece=2))
    node.feed.ring.restarted_at(source.index)
    snapshot_codec.restore(node.table, snapshot)
    node.index = source.index
    return node


def test_a_master_restored_from_a_snapshot_derives_the_same_events_with_the_same_ids() -> None:
    whole = Applied()
    for cmd in ACROSS_A_SNAPSHOT:
        whole.apply(cmd)
    everything = list(whole.feed.ring.events)
    ids = [e.id for e in everything]
    assert len(ids) == len(set(ids)) and ids == sorted(ids, key=parse_event_id)  # type: ignore[arg-type]
    assert [e.type for e in everything if e.job == "a"] == [
        "job.submitted", "job.started", "job.retried", "job.started", "job.retried",
        "job.started", "job.finished",
    ]  # fmt: skip
    assert kinds([e for e in everything if e.job in ("b", "p", "c")]) == [
        ("job.submitted", "b", None), ("job.submitted", "p", None), ("job.submitted", "c", None),
        ("job.started", "b", "running"), ("job.started", "p", "running"),
        ("job.finished", "b", "succeeded"), ("job.dead", "p", "dead"), ("job.dead", "c", "dead"),
    ]  # fmt: skip
    assert {e.at for e in everything} == set(range(1, len(ACROSS_A_SNAPSHOT) + 1))
    noted: list[int] = []
    for cut in range(1, len(ACROSS_A_SNAPSHOT)):
        one = Applied()
        for cmd in ACROSS_A_SNAPSHOT[:cut]:
            one.apply(cmd)
        two = restored_from(one)
        assert list(two.feed.ring.events) == [] and two.feed.ring.complete_from == cut + 1
        # a soft event on each just after the install: the same id on both
        note = (JobProgress("a", 2, 0.5, "half"),)
        made = one.feed.progressed(note, 10.5, one.table)
        assert two.feed.progressed(note, 10.5, two.table) == made
        noted += [cut] if made else []
        for cmd in ACROSS_A_SNAPSHOT[cut:]:
            assert one.apply(cmd) == two.apply(cmd), (cut, cmd)
        after = [e for e in one.feed.ring.events if e.at > cut or (e.soft and e.at == cut)]
        assert list(two.feed.ring.events) == after, cut
        assert [e.body() for e in two.feed.ring.events] == [e.body() for e in after], cut
        # and the log events after the cut are those of a run with no snapshot at all
        logged = [e for e in after if not e.soft]
        assert logged == [e for e in everything if e.at > cut], cut
    assert noted == [10]  # the cut at which a's second attempt runs


def test_progress_is_a_soft_event_kept_until_the_job_ends() -> None:
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"),)))
    node.apply(assign("a", 1, 2.0))
    note = JobProgress("a", 1, 0.4, "resized 40 of 100")
    assert node.feed.progressed((note,), 2.5, node.table) == [note]
    assert node.feed.progressed((note,), 2.6, node.table) == []  # the same value again: no event
    event = node.feed.ring.events[-1]
    assert (event.type, event.id, event.soft) == ("job.progress", "3-s0", True)
    assert event.body()["progress"] == 0.4
    assert node.feed.progress_view("a", 1) == {
        "progress": 0.4,
        "progress_message": "resized 40 of 100",
    }
    assert node.feed.progress_view("a", 2)["progress"] is None  # another attempt's
    node.apply(report("a", 1, True, 3.0))
    assert node.feed.progress.latest == {}


def test_event_ids_parse_back_to_their_order() -> None:
    assert parse_event_id("12-3") == (12, 0, 3)
    assert parse_event_id("12-s0") == (12, 1, 0)
    assert parse_event_id("12-3") < parse_event_id("12-s0") < parse_event_id("13-0")  # type: ignore[operator]
    for bad in ("", "12", "x-1", "12-", "12-sx", "-1-2"):
        assert parse_event_id(bad) is None


def test_every_retry_is_an_event_past_the_attempts_the_log_keeps() -> None:
    """The attempt log keeps the last ten failures, so it stops growing; the eleventh
    retry and on are events all the same."""
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a", retries=14),)))
    now = 2.0
    for attempt in range(1, 15):
        node.apply(assign("a", attempt, now))
        retried = node.apply(report("a", attempt, False, now + 0.1))
        assert kinds(retried) == [("job.retried", "a", "scheduled")], attempt
        now += 1000.0  # past any backoff


def test_progress_of_an_attempt_no_longer_running_is_not_kept() -> None:
    """A note that arrives after its job ended (a follower applies the end before the
    leader's news) is not kept, nor is what the ended attempt reported before."""
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"), new("b"))))
    node.apply(assign("a", 1, 2.0))
    node.apply(assign("b", 1, 2.0))
    node.feed.progressed((JobProgress("a", 1, 0.5, ""),), 2.5, node.table)
    node.table.retention = attrs.evolve(node.table.retention, keep_finished_s=0.0)
    node.apply(report("a", 1, True, 3.0))  # no record kept, its job.finished all the same
    late = JobProgress("a", 1, 0.9, "late")
    assert node.feed.progressed((late, JobProgress("b", 1, 0.1, "")), 3.5, node.table) == [
        JobProgress("b", 1, 0.1, "")
    ]
    assert set(node.feed.progress.latest) == {"b"}


def test_a_heartbeat_counts_only_its_own_workers_runs() -> None:
    node = started_node()
    node.apply(RegisterWorkerCmd(0.5, "w2", 2, ("noop",)))
    node.apply(SubmitCmd(1.0, (new("a"),)))
    node.apply(assign("a", 1, 2.0))  # on w1
    note = JobProgress("a", 1, 0.5, "")
    assert node.feed.progressed((note,), 2.5, node.table, worker="w2") == []
    assert node.feed.progressed((note,), 2.6, node.table, worker="w1") == [note]


def test_a_snapshot_install_keeps_only_the_progress_of_runs_in_the_new_table() -> None:
    """The ends of the other runs were in entries this master never applied, so no event
    of theirs dropped what they reported."""
    node = started_node()
    node.apply(SubmitCmd(1.0, (new("a"), new("b"))))
    node.apply(assign("a", 1, 2.0))
    node.apply(assign("b", 1, 2.0))
    notes = (JobProgress("a", 1, 0.5, ""), JobProgress("b", 1, 0.5, ""))
    node.feed.progressed(notes, 2.5, node.table)
    source = started_node()
    source.apply(SubmitCmd(1.0, (new("a"), new("b"))))
    source.apply(assign("a", 1, 2.0))
    source.apply(assign("b", 1, 2.0))
    source.apply(report("a", 1, True, 3.0))
    snapshot = b"".join(snapshot_codec.encode_pieces(source.table))
    snapshot_codec.restore(node.table, snapshot)
    node.feed.restarted(source.index, node.table)
    assert set(node.feed.progress.latest) == {"b"}
    assert node.feed.ring.complete_from == source.index + 1
