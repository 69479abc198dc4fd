"""The ring: resuming after an id, soft ids, what may be missed, filters; the SSE parser."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

import pytest

from actors.gateway.events_api import parse_filters, stream
from actors.gateway.validation import BadRequest
from actors.master.event_feed import EventFeed
from actors.master.event_ring import EventRing, matching
from actors.master.events import Event, EventKey, event_key
from client.events import Resume, SseParser

if TYPE_CHECKING:
    from actors.gateway.app import Gateway


def log_event(index: int, n: int, kind: str = "job.submitted", job: str = "a") -> Event:
    return Event(index, n, False, kind, float(index), job=job)


def test_resuming_after_an_id_gives_exactly_the_later_events() -> None:
    ring = EventRing(100)
    ring.applied_entry(1, [log_event(1, 0), log_event(1, 1)])
    ring.applied_entry(2, [])
    ring.add_soft("leader.changed", 2.5)
    ring.applied_entry(3, [log_event(3, 0)])
    ids = [e.id for e in ring.events]
    assert ids == ["1-0", "1-1", "2-s0", "3-0"]
    assert [e.id for e in ring.after((1, 0, 0))] == ["1-1", "2-s0", "3-0"]
    assert [e.id for e in ring.after((2, 1, 0))] == ["3-0"]
    assert ring.after(ring.newest()) == []
    # a soft id from another master at an index this one made none at: the log is exact
    assert [e.id for e in ring.after((2, 1, 5))] == ["3-0"]


def test_an_empty_ring_resumes_after_what_it_applied() -> None:
    ring = EventRing(10)
    ring.applied_entry(5, [])
    ring.add_soft("worker.draining", 1.0, worker="w1")
    assert [e.id for e in ring.after(event_key(ring.events[0]))] == []
    fresh = EventRing(10)
    fresh.applied_entry(4, [])
    key = fresh.newest()
    fresh.add_soft("leader.changed", 1.0)
    fresh.applied_entry(5, [log_event(5, 0)])
    assert [e.id for e in fresh.after(key)] == ["4-s0", "5-0"]


def missed(ring: EventRing, key: EventKey) -> bool:
    """Whether events after ``key`` may be gone from ``ring`` (what the stream asks)."""
    return ring.whole_after(key) != key


def test_a_full_ring_forgets_the_oldest_and_says_a_resume_may_miss_some() -> None:
    ring = EventRing(3)
    for index in range(1, 6):
        ring.applied_entry(index, [log_event(index, 0)])
    assert [e.id for e in ring.events] == ["3-0", "4-0", "5-0"]
    assert ring.dropped == (2, 0, 0)
    assert missed(ring, (1, 0, 0))
    assert ring.whole_after((2, 0, 0)) == (2, 0, 0)  # what comes after 2-0 is all here
    big = EventRing(3)
    big.applied_entry(1, [log_event(1, n) for n in range(5)])
    assert [e.id for e in big.events] == ["1-2", "1-3", "1-4"] and big.dropped == (1, 0, 1)


def test_a_ring_started_from_a_snapshot_knows_what_it_never_saw() -> None:
    ring = EventRing(10)
    ring.starts_after(49)
    ring.applied_entry(50, [log_event(50, 0)])
    assert ring.complete_from == 50
    assert missed(ring, (10, 0, 0))
    assert ring.whole_after((49, 0, 0)) == (49, 0, 0)
    ring.restarted_at(80)
    assert missed(ring, (60, 0, 0))


def test_whole_after_is_where_a_listener_that_missed_some_goes_on() -> None:
    ring = EventRing(3)
    for index in range(1, 6):
        ring.applied_entry(index, [log_event(index, 0)])
    assert ring.whole_after((1, 0, 0)) == (2, 0, 0)
    assert [e.id for e in ring.after(ring.whole_after((1, 0, 0)))] == ["3-0", "4-0", "5-0"]
    assert ring.whole_after((4, 0, 0)) == (4, 0, 0)
    ring.restarted_at(80)
    assert missed(ring, (5, 0, 0)) and not missed(ring, ring.whole_after((5, 0, 0)))


async def test_a_listener_slower_than_the_ring_is_told_of_the_gap_mid_stream() -> None:
    """The stream checks for a gap before every read, not only when it starts: events the
    full ring let go of while the listener was busy are announced, not skipped."""
    feed = EventFeed(3)
    feed.ring.applied_entry(1, [log_event(1, 0)])
    events = stream(cast("Gateway", None), feed, parse_filters({}), (0, 0, 0))
    first = await anext(events)
    assert first.id == "1-0"
    for index in range(2, 8):  # the listener reads nothing meanwhile
        feed.ring.applied_entry(index, [log_event(index, 0)])
    gap = await anext(events)
    assert gap.event == "stream.gap" and json.loads(str(gap.data))["after"] == "1-0"
    assert [(await anext(events)).id for _ in range(3)] == ["5-0", "6-0", "7-0"]
    await events.aclose()


def test_waiters_are_woken_once_by_new_events_only() -> None:
    ring = EventRing(10)
    woken: list[int] = []
    ring.waiters.append(lambda: woken.append(1))
    ring.applied_entry(1, [])
    assert woken == []
    ring.applied_entry(2, [log_event(2, 0)])
    ring.add_soft("leader.changed", 1.0)
    assert woken == [1] and ring.waiters == []


def test_filters_by_type_family_job_and_status() -> None:
    events = [
        Event(1, 0, False, "job.finished", 1.0, job="a", status="succeeded"),
        Event(1, 1, False, "job.dead", 1.0, job="b", status="dead"),
        Event(2, 0, False, "worker.lost", 2.0, worker="w1"),
    ]
    assert len(matching(events, None, None, None)) == 3
    assert [e.type for e in matching(events, frozenset({"job"}), None, None)] == [
        "job.finished",
        "job.dead",
    ]
    assert [
        e.job for e in matching(events, frozenset({"worker.lost", "job.dead"}), None, None)
    ] == [
        "b",
        None,
    ]
    assert [e.job for e in matching(events, None, "a", None)] == ["a"]
    assert [e.job for e in matching(events, None, None, "dead")] == ["b"]


def test_parse_filters_names_the_bad_parameter() -> None:
    filters = parse_filters({"type": "job.finished,worker", "job": "x", "status": "dead"})
    assert filters.types == frozenset({"job.finished", "worker"})
    assert (filters.job, filters.status) == ("x", "dead")
    for query, field in (
        ({"type": "job.exploded"}, "type"),
        ({"status": "done"}, "status"),
        ({"job": ""}, "job"),
        ({"kind": "x"}, "kind"),
    ):
        with pytest.raises(BadRequest, match=field):
            parse_filters(query)


def test_the_sse_parser_reads_events_and_skips_pings() -> None:
    parser = SseParser()
    lines = [": ping", "", "id: 3-0", "event: job.started", 'data: {"type": "job.started"}', ""]
    parsed = [e for e in map(parser.feed, lines) if e is not None]
    assert parsed == [{"type": "job.started", "id": "3-0"}]


def test_resume_moves_on_backs_off_and_gives_up_after_its_deadline() -> None:
    resume = Resume(3, None, deadline_s=5.0, now=0.0)
    assert "Last-Event-ID" not in resume.headers(None)
    resume.saw({"id": "7-1"})
    assert resume.headers("t") == {
        "Accept": "text/event-stream",
        "Authorization": "Bearer t",
        "Last-Event-ID": "7-1",
    }
    assert [resume.lost(1.0), resume.lost(1.0), resume.lost(1.0)] == [0.1, 0.2, 0.4]
    assert resume.index == 0  # round the three addresses
    resume.connected(2.0)
    assert resume.lost(3.0) == 0.1
    # the deadline runs from when the stream ended (3.0), not from when it opened
    assert resume.lost(7.9) == 0.2
    assert resume.lost(8.1) is None


def test_a_stream_that_lasted_longer_than_the_deadline_is_resumed_when_it_ends() -> None:
    resume = Resume(2, None, deadline_s=30.0, now=0.0)
    resume.connected(1.0)
    assert resume.lost(3601.0) == 0.1, "an hour of events, then a leader change"
    assert resume.lost(3620.0) == 0.2
    assert resume.lost(3632.0) is None, "and nobody answered for 31 s since"
