"""A worker's prefetch queue: jobs beyond capacity wait, start the moment a slot frees,
a queued job that is cancelled never starts, and a draining worker hands back what it
has not started."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack
import trio

from actors.worker.agent import Drain, WorkerActor
from actors.worker.handlers import HandlerRegistry
from runtime.actor import Actor, ActorRef
from runtime.system import ActorSystem
from transport.cluster import (
    AssignJobs,
    Assignment,
    CancelRunning,
    HeartbeatAck,
    ReportJobs,
    Welcome,
    WorkerBye,
    WorkerHeartbeat,
    WorkerHello,
)
from transport.codec import Message
from transport.envelope import Ack


class FakeLeader(Actor):
    """Welcomes the worker, renews its lease and records what it reports."""

    def __init__(self) -> None:
        self.hello: WorkerHello | None = None
        self.reported: list[str] = []
        self.handed_back: list[str] = []
        self.draining_beat = False
        self.bye = False
        self.bye_unstarted: list[str] = []
        # never answer a report that hands jobs back, as if it were lost on the way
        self.lose_hand_backs = False

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, WorkerHello):
            self.hello = msg
            return Welcome("n1", 30.0, 0.5)
        if isinstance(msg, WorkerHeartbeat):
            self.draining_beat |= msg.draining
            return HeartbeatAck(True, ())
        if isinstance(msg, ReportJobs):
            if self.lose_hand_backs and not all(r.started for r in msg.reports):
                self.ctx.defer_reply()
                return None
            for r in msg.reports:
                (self.reported if r.started else self.handed_back).append(r.job_id)
            return Ack()
        if isinstance(msg, WorkerBye):
            self.bye = True
            self.bye_unstarted = [r.job_id for r in msg.unstarted]
            return Ack()
        return None


def registry(started: list[str], release: dict[str, trio.Event]) -> HandlerRegistry:
    reg = HandlerRegistry()

    async def hold(payload: str) -> str:
        started.append(payload)
        await release[payload].wait()
        return payload

    reg.register("hold", hold)
    return reg


def assignment(job_id: str) -> Assignment:
    return Assignment(job_id, 1, "hold", msgpack.packb(job_id), None)


@asynccontextmanager
async def registered_worker(
    started: list[str], release: dict[str, trio.Event], heartbeat_s: float, **options: Any
) -> AsyncIterator[tuple[FakeLeader, WorkerActor, ActorRef]]:
    """A worker with one slot and a queue of two, registered with a fake leader."""
    system = ActorSystem("n1", None, random.Random(1))
    leader = FakeLeader()
    worker = WorkerActor(
        "w1",
        ["n1"],
        registry(started, release),
        capacity=1,
        prefetch=2,
        heartbeat_s=heartbeat_s,
        **options,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(system.run_actor, "master", leader)
        await nursery.start(system.run_actor, "worker", worker)
        while not worker.registered:
            await trio.sleep(0.01)
        yield leader, worker, system.ref("n1", "worker")
        nursery.cancel_scope.cancel()


async def test_jobs_beyond_capacity_queue_and_start_as_slots_free() -> None:
    started: list[str] = []
    release = {name: trio.Event() for name in ("a", "b", "c")}
    async with registered_worker(started, release, 0.5) as (leader, worker, ref):
        assert leader.hello is not None and leader.hello.prefetch == 2
        await ref.send(AssignJobs(tuple(assignment(j) for j in ("a", "b", "c"))))
        await trio.sleep(0.05)
        assert started == ["a"], "one slot: the others wait in the queue"
        assert [job.key.job_id for job in worker.queued] == ["b", "c"]
        # a queued job cancelled never starts, and is not reported
        await ref.send(CancelRunning("b", 1))
        await trio.sleep(0.01)
        release["a"].set()
        await trio.sleep(0.05)
        assert started == ["a", "c"], "the freed slot took the next job still queued"
        release["c"].set()
        with trio.fail_after(5):
            while sorted(leader.reported) != ["a", "c"]:
                await trio.sleep(0.01)
        assert worker.busy == 0 and not worker.queued and not worker.jobs


async def test_a_draining_worker_hands_back_what_it_has_not_started() -> None:
    started: list[str] = []
    release = {name: trio.Event() for name in ("a", "b", "c", "d")}
    async with registered_worker(started, release, 5.0) as (leader, _, ref):
        await ref.send(AssignJobs(tuple(assignment(j) for j in ("a", "b", "c"))))
        with trio.fail_after(2):  # a runs (b and c wait in the queue) before the drain
            while started != ["a"]:
                await trio.sleep(0.01)
        await ref.send(Drain())
        # an assignment sent before the leader heard of the drain goes back too
        await ref.send(AssignJobs((assignment("d"),)))
        with trio.fail_after(2):
            while sorted(leader.handed_back) != ["b", "c", "d"]:
                await trio.sleep(0.01)
        assert leader.draining_beat, "the leader hears at once, not at the next beat"
        assert started == ["a"] and not leader.bye, "the running job finishes first"
        release["a"].set()
        with trio.fail_after(5):
            while not leader.bye:
                await trio.sleep(0.01)
        assert leader.reported == ["a"] and started == ["a"]


async def test_a_goodbye_names_the_hand_backs_whose_report_was_lost() -> None:
    """Were the report that hands jobs back lost, a goodbye alone would have the leader
    count their attempts (a job with no retries left would die never having run)."""
    started: list[str] = []
    release = {name: trio.Event() for name in ("a", "b", "c")}
    async with registered_worker(started, release, 5.0, ask_timeout_s=0.1) as (leader, _, ref):
        leader.lose_hand_backs = True
        await ref.send(AssignJobs(tuple(assignment(j) for j in ("a", "b", "c"))))
        with trio.fail_after(2):  # a runs (b and c wait in the queue) before the drain
            while started != ["a"]:
                await trio.sleep(0.01)
        await ref.send(Drain())
        release["a"].set()
        with trio.fail_after(5):
            while not leader.bye:
                await trio.sleep(0.01)
        # a's report went with the hand-backs (lost too), but only b and c never ran
        assert started == ["a"]
        assert sorted(leader.bye_unstarted) == ["b", "c"]
