"""Every master derives the same log events: the check on rings, and broken derivations caught.

The first half drives :class:`~sim.event_check.EventAgreement` with event
rings filled by hand (what a ring holds whole: after a snapshot, past what a
full ring let go, up to the index applied). The second puts bugs back into
the masters and runs ``jobs_chaos``: events stamped with the applying
master's own clock, and followers that leave out the ``job.started`` events
the leader derives.
"""

from __future__ import annotations

import pytest

from actors.master import event_feed
from actors.master.actor import MasterActor
from actors.master.event_feed import EventFeed
from actors.master.event_ring import EventRing
from actors.master.events import STARTED, SUBMITTED, Before, Event
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from runtime.clock import sim_wall_clock
from sim.event_check import EventAgreement
from sim.harness import run_scenario
from transport.codec import Message


def submitted(index: int, n: int, job: str, time: float = 10.0) -> Event:
    return Event(index, n, False, SUBMITTED, time, job, None, None, None, "work")


def fill(ring: EventRing, upto: int, start: int = 1, *, skip: int | None = None) -> None:
    """Apply entries ``start``..``upto``: each makes one event (entry ``skip`` none)."""
    for index in range(start, upto + 1):
        ring.applied_entry(index, [] if index == skip else [submitted(index, 0, f"j{index}")])


class Rings:
    def __init__(self, *names: str, retained: int = 100) -> None:
        self.rings: dict[str, EventRing | None] = {n: EventRing(retained) for n in names}
        self.check = EventAgreement(lambda: self.rings)

    def __getitem__(self, name: str) -> EventRing:
        ring = self.rings[name]
        assert ring is not None
        return ring


def test_the_same_events_agree_and_each_index_is_compared_once() -> None:
    rings = Rings("m1", "m2", "m3")
    for name in ("m1", "m2", "m3"):
        fill(rings[name], 5)
    assert rings.check.check() is None
    assert rings.check.agreed == 10
    rings["m2"].add_soft("leader.changed", 11.0, detail={"leader": "m2", "term": 2})
    fill(rings["m2"], 6, start=6)
    fill(rings["m1"], 6, start=6)
    assert rings.check.check() is None
    assert rings.check.agreed == 11, "soft events are a master's own: not compared"


def test_an_event_one_master_leaves_out_is_caught() -> None:
    rings = Rings("m1", "m2")
    fill(rings["m1"], 5)
    fill(rings["m2"], 5, skip=4)
    problem = rings.check.check()
    assert problem is not None
    assert problem.startswith("m2 derived other events from log index 4 than m1 did")
    assert "none" in problem


def test_a_field_that_differs_is_caught() -> None:
    rings = Rings("m1", "m2")
    rings["m1"].applied_entry(1, [submitted(1, 0, "a", time=10.0)])
    rings["m2"].applied_entry(1, [submitted(1, 0, "a", time=10.5)])
    problem = rings.check.check()
    assert problem is not None and "'time': 10.5" in problem and "'time': 10.0" in problem


def test_a_ring_is_compared_from_its_snapshot_on() -> None:
    rings = Rings("m1", "m2")
    fill(rings["m1"], 8)
    assert rings.check.check() is None
    # m2 installed a snapshot at 5: it never derived 1..5, and holds 6.. whole
    rings["m2"].restarted_at(5)
    fill(rings["m2"], 8, start=6, skip=7)
    problem = rings.check.check()
    assert problem is not None and "log index 7" in problem
    assert rings.check.agreed == 1, "6 was compared, 1..5 were not"


def test_a_full_ring_is_compared_past_what_it_let_go() -> None:
    rings = Rings("m1", "m2")
    rings.rings["m2"] = EventRing(3)
    fill(rings["m1"], 10)
    fill(rings["m2"], 10)
    assert rings["m2"].dropped == (7, 0, 0)
    assert rings.check.check() is None
    assert rings.check.agreed == 3, "only 8..10 are whole in m2's ring"


def test_a_new_incarnation_is_compared_again() -> None:
    rings = Rings("m1", "m2")
    fill(rings["m1"], 4)
    fill(rings["m2"], 4)
    assert rings.check.check() is None
    # m2 restarts from its own snapshot at 2 and derives 3 and 4 again, differently
    rings.rings["m2"] = None
    assert rings.check.check() is None
    restarted = EventRing(100)
    restarted.starts_after(2)
    restarted.applied_entry(3, [submitted(3, 0, "j3")])
    restarted.applied_entry(4, [submitted(4, 0, "another")])
    rings.rings["m2"] = restarted
    problem = rings.check.check()
    assert problem is not None and "log index 4" in problem


# -- broken derivations in the whole scheduler ------------------------------------------


def test_events_stamped_with_the_masters_own_clock_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutation: an event's time read from the applying master's clock, not the log's."""
    derive = event_feed.derive

    def local_time(
        index: int,
        cmd: Message,
        result: Message | None,
        table: JobStateMachine,
        before: Before,
        finished: list[tuple[int, Job]],
    ) -> list[Event]:
        events = derive(index, cmd, result, table, before, finished)
        return [event._replace(time=sim_wall_clock()) for event in events]

    monkeypatch.setattr(event_feed, "derive", local_time)
    result = run_scenario("jobs_chaos", 0)
    assert result.violation is not None
    assert result.violation.invariant == "events-agree", result.violation
    assert "'time'" in result.violation.message


def test_followers_that_leave_out_started_events_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutation: only the leader records ``job.started`` (as if derived from its own
    assignment rather than from the applied command)."""
    on_start = MasterActor.on_start

    async def leader_only_starts(self: MasterActor) -> None:
        await on_start(self)
        feed: EventFeed = self.feed
        after = feed.after

        def without_started(
            index: int,
            cmd: Message,
            result: Message | None,
            table: JobStateMachine,
            before: Before,
        ) -> None:
            after(index, cmd, result, table, before)
            events = feed.ring.events
            while not self.raft.is_leader and events and events[-1].at == index:
                if events[-1].type != STARTED:
                    break
                events.pop()

        monkeypatch.setattr(feed, "after", without_started)

    monkeypatch.setattr(MasterActor, "on_start", leader_only_starts)
    result = run_scenario("jobs_chaos", 0)
    assert result.violation is not None
    assert result.violation.invariant == "events-agree", result.violation
    assert "job.started" in result.violation.message and "none" in result.violation.message
