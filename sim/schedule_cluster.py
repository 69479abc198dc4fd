"""The scheduler on the simulator with schedules defined, and the checks on their ticks.

:class:`ScheduleObserver` checks, after every step:

- **no (schedule, tick) fired twice**: every master's job table reports each
  job a fire makes; a second job for a (schedule, tick) that already has one
  is a violation, whichever master made it, in whatever incarnation;
- **every tick while a leader existed fired**: the observer follows who is in
  charge: a master that leads, is up and not paused, has applied an entry of
  its own term, and has a majority of masters (itself among them) up, not
  paused, reachable both ways, in no later term and holding every committed
  entry (a follower still catching up cannot help commit). While one master
  stays in charge in one term, each tick from when it took over (by its
  clock, the one it fires by) that no earlier leader had already dealt with
  (fired, or passed by under ``catch_up``, as the masters' marks say) must
  have made its job once its clock is :data:`FIRE_WITHIN_S` past the tick;
- **the ``catch_up: all`` schedule leaves no tick out**: every one of its
  ticks from the first after its committed create up to its mark (the last
  tick a fire moved it to) made a job;

and, after the final heal, that the ``all`` schedule fired, each of its ticks
from its create to its last fired.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import attrs
import msgpack
import trio

from actors.master.actor import MasterActor
from actors.raft.core import RaftCore, Role
from actors.scheduler.records import Job
from actors.scheduler.state import JobStateMachine
from runtime.clock import sim_wall_clock
from sim.harness import Simulation
from sim.job_cluster import JobCluster
from sim.table_check import TableCheck
from transport.cluster import JobSpec
from transport.codec import Message
from transport.schedule_commands import ScheduleSpec
from transport.schedule_requests import PutSchedule, ScheduleChanged

__all__ = ["FIRE_WITHIN_S", "SCHEDULES", "ScheduleCluster", "ScheduleObserver"]

# how far past a tick an undisturbed leader's clock may get before the tick has fired
FIRE_WITHIN_S = 1.0
_JOB = JobSpec("work", msgpack.packb({"seconds": 0.01, "fail": 0.0}), 5, 0, 3.0, None, None)
# (name, period in seconds, catch_up); the cron one ticks on even seconds, in a zone with
# daylight saving (seconds are the same everywhere)
SCHEDULES = (
    ScheduleSpec("each-second-skip", None, 1.0, "UTC", "skip", _JOB),
    ScheduleSpec("each-second-all", None, 1.0, "UTC", "all", _JOB),
    ScheduleSpec("even-seconds-one", "*/2 * * * * *", None, "Europe/Paris", "one", _JOB),
)
PERIODS = {"each-second-skip": 1, "each-second-all": 1, "even-seconds-one": 2}
# the schedule that must fire every one of its ticks
CATCHING_ALL = "each-second-all"


@attrs.define
class Span:
    """One master in charge in one term: its clock when first and last seen so, and each
    schedule's mark (the latest any master had applied) when it took over."""

    leader: str
    term: int
    start: float
    last: float
    handled: dict[str, float]
    # each schedule's ticks up to here are checked
    checked: dict[str, float] = attrs.Factory(dict)


class ScheduleObserver(TableCheck):
    def __init__(
        self,
        sim: Simulation,
        masters: Callable[[], Mapping[str, MasterActor | None]],
        cores: Callable[[], Mapping[str, RaftCore | None]],
    ) -> None:
        """``masters`` gives each master's current incarnation (None while it is down),
        ``cores`` its Raft core (None while it is down)."""
        self.sim = sim
        self.masters = masters
        self.cores = cores
        # (schedule, tick) -> the id of the job it made
        self.fired: dict[tuple[str, float], str] = {}
        self.problems: list[str] = []
        self.spans: list[Span] = []
        # ticks found fired that a leader in charge had to fire (the check is not vacuous)
        self.verified = 0
        # the first tick of the ``all`` schedule not yet found fired (None: not defined yet)
        self.all_checked: float | None = None

    def added(self, node: str, table: JobStateMachine, job: Job) -> None:
        """Every job a fire makes (a job restored or retried comes back under its own id)."""
        options = job.options
        if options is None or options.schedule is None or options.scheduled_for is None:
            return
        key = (options.schedule, options.scheduled_for)
        first = self.fired.setdefault(key, job.id)
        if first != job.id:
            self.problems.append(
                f"schedule {key[0]} tick {key[1]:.3f} fired twice: job {first} and job "
                f"{job.id} (on {node})"
            )

    # -- after every step -----------------------------------------------------------------

    def check(self) -> str | None:
        if self.problems:
            return self.problems[0]
        self._follow_leader()
        for span in self.spans:
            missed = self._missed(span)
            if missed is not None:
                return missed
        # a span long gone, all of whose ticks were found, needs no more looking at
        self.spans = [s for s in self.spans[:-1] if not self._done(s)] + self.spans[-1:]
        return self._all_done_to_mark()

    def _in_charge(self) -> tuple[MasterActor, float] | None:
        """The master in charge, and its time (the later of its clock and its log's)."""
        sim = self.sim
        masters = self.masters()
        cores = self.cores()
        for name, core in cores.items():
            actor = masters.get(name)
            if core is None or actor is None or not sim.running(name):
                continue
            if core.role is not Role.LEADER or not actor.raft.applied_own_term:
                continue
            votes = 1 + sum(
                1
                for other, peer in cores.items()
                if other != name
                and peer is not None
                and sim.running(other)
                and sim.connected(name, other)
                and peer.term <= core.term
                and peer.log.last_index >= core.commit
            )
            if votes * 2 > len(cores):
                return actor, max(actor.ctx.wall_time(), actor.jobs.now)
        return None

    def _follow_leader(self) -> None:
        found = self._in_charge()
        current = self.spans[-1] if self.spans else None
        if found is None:
            if current is not None and current.leader:
                self.spans.append(Span("", 0, 0.0, 0.0, {}))  # nobody in charge
            return
        actor, now = found
        if current is not None and (current.leader, current.term) == (
            actor.node_id,
            actor.raft.term,
        ):
            current.last = now
            return
        self.spans.append(Span(actor.node_id, actor.raft.term, now, now, self._marks()))

    def _marks(self) -> dict[str, float]:
        """Each schedule's latest mark on any master: what is done (fired or passed by)."""
        marks: dict[str, float] = {}
        for actor in self.masters().values():
            if actor is None:
                continue
            for entry in actor.jobs.schedules:
                marks[entry.name] = max(marks.get(entry.name, entry.mark), entry.mark)
        return marks

    def _created(self, name: str) -> float | None:
        for actor in self.masters().values():
            entry = actor.jobs.schedules.get(name) if actor is not None else None
            if entry is not None:
                return entry.created_at
        return None

    def _missed(self, span: Span) -> str | None:
        """The first tick ``span``'s leader should have fired by now and did not."""
        if not span.leader:
            return None
        for name, period in PERIODS.items():
            handled = span.handled.get(name)
            if handled is None:
                # defined while this leader was in charge: its ticks start then
                handled = self._created(name)
                if handled is None:
                    continue
                span.handled[name] = handled
            low = max(handled, span.checked.get(name, -math.inf))
            first = max(math.floor(low / period) + 1, math.ceil(span.start / period))
            upto = span.last - FIRE_WITHIN_S
            tick = first * period
            while tick <= upto:
                if (name, float(tick)) not in self.fired:
                    return (
                        f"schedule {name} tick {tick:.3f} did not fire: {span.leader} was in "
                        f"charge (term {span.term}) from its time {span.start:.3f} to "
                        f"{span.last:.3f}"
                    )
                self.verified += 1
                tick += period
            span.checked[name] = max(low, upto)
        return None

    def _done(self, span: Span) -> bool:
        return not span.leader or all(
            span.checked.get(name, -math.inf) >= span.last - FIRE_WITHIN_S for name in PERIODS
        )

    # -- the ``all`` schedule: no tick after its create left out ----------------------------

    def _all_done_to_mark(self) -> str | None:
        """After every step: each tick of the ``all`` schedule up to its latest mark (which
        a fire moves to its last tick: ticks up to it can never fire again) made a job."""
        marks = [
            entry.mark
            for actor in self.masters().values()
            if actor is not None and (entry := actor.jobs.schedules.get(CATCHING_ALL))
        ]
        return self._all_fired_upto(max(marks)) if marks else None

    def caught_up(self) -> str | None:
        """After the final heal: the ``all`` schedule fired, and every one of its ticks from
        the first after its committed create to its last fired made a job."""
        ticks = [t for (s, t) in self.fired if s == CATCHING_ALL]
        if not ticks:
            return f"schedule {CATCHING_ALL} never fired"
        return self._all_fired_upto(max(ticks))

    def _all_fired_upto(self, upto: float) -> str | None:
        """The first tick of the ``all`` schedule after its create and up to ``upto`` that
        made no job. Counting from the create, not from the first tick fired, is what
        catches a leader that drops a new schedule's first ticks while catching up after an
        outage (ticks no leader was in charge for, which :meth:`_missed` leaves alone).
        Outages here are far shorter than the 100 ticks ``all`` catches up at most."""
        period = PERIODS[CATCHING_ALL]
        if self.all_checked is None:
            created = self._created(CATCHING_ALL)
            if created is None:
                return None
            self.all_checked = float((math.floor(created / period) + 1) * period)
        tick = self.all_checked
        while tick <= upto:
            if (CATCHING_ALL, tick) not in self.fired:
                return (
                    f"schedule {CATCHING_ALL} (catch_up all) has no job for tick {tick:.3f}, "
                    f"and its mark is at {upto:.3f}"
                )
            tick += period
        self.all_checked = tick
        return None


class ScheduleCluster(JobCluster):
    """:class:`~sim.job_cluster.JobCluster` with the schedule checks."""

    def __init__(self, sim: Simulation, masters: Sequence[str], workers: Sequence[str]) -> None:
        super().__init__(sim, masters, workers)
        self.schedules = ScheduleObserver(sim, self._actors, self.raft_cores)
        self.observer.table_checks.append(self.schedules)
        sim.invariant("schedules-fire-once", self.schedules.check)
        sim.converges("schedules-caught-up", self.schedules.caught_up)

    async def define(self) -> None:
        """Define :data:`SCHEDULES` through a gateway, as a client would, until each is."""
        for spec in SCHEDULES:
            await self.send_until_accepted(PutSchedule(spec, False), _defined)

    async def near_a_tick(self, rng_value: float) -> None:
        """Sleep until ``rng_value`` seconds from the next whole second of wall time (a
        drawn moment just before, at, or just after a tick)."""
        now = sim_wall_clock()
        target = math.ceil(now) + rng_value
        if target <= now:
            target += 1.0
        await trio.sleep(target - now)


def _defined(answer: Message) -> bool:
    """A schedule's put took: made now, or found already made by an earlier try."""
    return isinstance(answer, ScheduleChanged) and answer.outcome in ("created", "same")
