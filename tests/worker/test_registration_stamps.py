"""The master stamps what the worker's registration fence compares: a ``Welcome`` carries
the log index of the registration, also when the hello that wrote it must be asked
again, and each ``AssignJobs`` the index of its own entry, always a later one."""

from __future__ import annotations

import trio

from actors.worker.agent import WorkerActor
from actors.worker.handlers import default_registry
from runtime.actor import ActorRef
from tests.gateway.api import running_api, wait_status
from transport.cluster import AssignJobs, Welcome, WorkerHello
from transport.codec import Message


class RecordingWorker(WorkerActor):
    """The real worker, keeping every ``AssignJobs`` it is sent."""

    def __init__(self) -> None:
        super().__init__("m1", ["m1"], default_registry(), capacity=2, heartbeat_s=0.2)
        self.assigned: list[AssignJobs] = []

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, AssignJobs):
            self.assigned.append(msg)
        return await super().handle(msg, sender)


async def test_a_welcome_and_each_assignment_carry_their_log_index() -> None:
    workers: list[RecordingWorker] = []

    def make() -> RecordingWorker:
        workers.append(RecordingWorker())
        return workers[-1]

    async with running_api(worker_actor=make) as api:
        worker = workers[-1]
        with trio.fail_after(10):
            while not worker.registered:
                await trio.sleep(0.01)
        registered = worker.fence.registered
        assert registered > 0, "the hello that registered the worker said where"
        answer = await api.client.post("/api/v1/jobs", json={"type": "noop"})
        await wait_status(api, answer.json()["id"], "succeeded")
        assert worker.assigned and all(m.index > registered for m in worker.assigned)
        # the same hello again (as after a lost answer) writes nothing, and still says
        hello = WorkerHello("m1", 2, worker.types, (), 0)
        again = await api.system.ref("m1", "master").ask(hello, 5.0)
        assert isinstance(again, Welcome) and again.registered == registered
