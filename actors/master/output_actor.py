"""The ``output`` actor on every master: keeps finished attempts' output, answers reads.

A read (:class:`~transport.output_messages.ReadOutput`) of an attempt that
still runs is answered by the worker running it (it holds the live capture);
of a finished one, from this master's store, else from a peer's (the answer
is then kept here too), else from the worker that ran it, which keeps its
last few captures. A capture that nobody holds reads as empty: the attempt
printed nothing (an empty capture is never shipped). Offsets count the
attempt's whole stream wherever the answer comes from
(:func:`~transport.output_messages.read_capture`), so a follower goes on
from the worker's answers to this store's across the attempt's end.

Captures a worker sends (:class:`~transport.output_messages.StoreOutput`)
are gathered and written in one transaction per :data:`GATHER_S`, by one
task, so a stream of printing jobs costs a write every few milliseconds,
not one per job, and never touches the master's mailbox. (A job is deleted
only once final, and its capture comes within moments of its report, so a
capture outliving its record would need a delete in that moment.) Jobs are
looked up, for reads only, in this master's own state: a stale read is
right, since output is not linearizable anyway.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import trio

from actors.master.output_store import OutputRow, OutputStore
from runtime.actor import Actor, ActorRef, PendingReply
from runtime.errors import AskError, AskTimeout
from transport.cluster import GetJob, JsonView
from transport.codec import Message
from transport.output_messages import (
    OUTPUT_ACTOR,
    Capture,
    FetchOutput,
    OutputChunk,
    ReadOutput,
    StoreOutput,
    read_capture,
)

__all__ = ["OutputActor"]

log = logging.getLogger("podium.output")

# how long a read waits on a worker or a peer before trying elsewhere
ASK_S = 2.0
# captures arriving within this long of each other are written together
GATHER_S = 0.02
_WORKER = "worker"
_MASTER = "master"


class OutputActor(Actor):
    def __init__(self, node_id: str, peers: Sequence[str], store: OutputStore) -> None:
        self.node_id = node_id
        self.peers = [p for p in peers if p != node_id]
        self.store = store
        self._pending: list[OutputRow] = []
        self._arrived = trio.Event()
        # the store has one SQLite connection: one call on it at a time (a transaction
        # begun while another thread's is open fails)
        self._disk = trio.CapacityLimiter(1)

    async def on_start(self) -> None:
        self.ctx.nursery.start_soon(self._writer)

    async def on_stop(self) -> None:
        self.store.close()

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        if isinstance(msg, StoreOutput):
            self._pending.append((msg.job_id, msg.attempt, *msg.capture()))
            self._arrived.set()
        elif isinstance(msg, (ReadOutput, FetchOutput)):
            self.ctx.nursery.start_soon(self._answer, msg, self.ctx.defer_reply())
        return None

    async def _answer(self, msg: ReadOutput | FetchOutput, reply: PendingReply) -> None:
        """Off the mailbox: an answer may wait on the disk, a peer or a worker."""
        if isinstance(msg, FetchOutput):
            reply.resolve(await self._give(msg))
        else:
            reply.resolve(await self._read(msg))

    async def _job(self, job_id: str) -> dict[str, Any] | None:
        view = await self.ctx.ref(self.node_id, _MASTER).ask(GetJob(job_id), ASK_S)
        if not isinstance(view, JsonView) or not view.json:
            return None
        job: dict[str, Any] = json.loads(view.json)
        return job

    async def _writer(self) -> None:
        while True:
            await self._arrived.wait()
            await trio.sleep(GATHER_S)
            self._arrived = trio.Event()
            rows, self._pending = self._pending, []
            await self._put(rows)

    async def _put(self, rows: list[OutputRow]) -> None:
        try:
            await trio.to_thread.run_sync(self.store.put, rows, limiter=self._disk)
        except (OSError, sqlite3.Error) as exc:
            # the peers and the workers still hold them; reads fetch them from there
            log.warning("output not stored", extra={"captures": len(rows), "error": str(exc)})

    async def _stored(self, job_id: str, attempt: int) -> Capture | None:
        """The capture stored here, or None (not here, or the store cannot be read now:
        the peers and the worker are asked next)."""
        try:
            return await trio.to_thread.run_sync(
                self.store.get, job_id, attempt, limiter=self._disk
            )
        except (OSError, sqlite3.Error) as exc:
            log.warning("output not read", extra={"job": job_id, "error": str(exc)})
            return None

    async def _give(self, msg: FetchOutput) -> Message:
        """A peer's fetch: the capture as it was shipped, or not found."""
        capture = await self._stored(msg.job_id, msg.attempt)
        if capture is None:
            return OutputChunk(msg.attempt, b"", 0, False, found=False)
        return StoreOutput(msg.job_id, msg.attempt, b"", *capture)

    async def _read(self, msg: ReadOutput) -> OutputChunk:
        job = await self._job(msg.job_id)
        if job is None:
            return OutputChunk(msg.attempt, b"", 0, False, False, f"no job {msg.job_id}", 404)
        latest: int = job["attempts"]
        attempt = msg.attempt or latest
        if attempt == 0:
            # not started yet: nothing to read, but more to come unless it ended unrun
            waiting = job["status"] in ("pending", "scheduled", "blocked", "running")
            return OutputChunk(0, b"", 0, waiting)
        if attempt > latest:
            return OutputChunk(
                attempt, b"", 0, False, False,
                f"job {msg.job_id} has no attempt {attempt} (it has made {latest})", 404,
            )  # fmt: skip
        worker = job.get("worker")
        ask = ReadOutput(msg.job_id, attempt, msg.offset, msg.limit)
        if job["status"] == "running" and attempt == latest and worker:
            held = await self._held(worker, ask)
            # not reachable from here, or not begun: the read is tried again by a follower
            return held if held is not None else OutputChunk(attempt, b"", msg.offset, True)
        capture = await self._stored(msg.job_id, attempt)
        if capture is None:
            capture = await self._from_peers(msg.job_id, attempt)
        if capture is not None:
            return _slice(msg, attempt, capture)
        if worker:
            held = await self._held(worker, ask)
            if held is not None:
                return OutputChunk(attempt, held.data, held.next_offset, False)
        return OutputChunk(attempt, b"", msg.offset, False)

    async def _from_peers(self, job_id: str, attempt: int) -> Capture | None:
        """The capture from the first peer holding it, kept here from now on."""
        for peer in self.peers:
            held = await self._ask(peer, OUTPUT_ACTOR, FetchOutput(job_id, attempt))
            if isinstance(held, StoreOutput):
                capture = held.capture()
                await self._put([(job_id, attempt, *capture)])
                return capture
        return None

    async def _ask(self, node: str, name: str, msg: Message) -> Message | None:
        try:
            return await self.ctx.ref(node, name).ask(msg, ASK_S)
        except (AskTimeout, AskError):
            return None

    async def _held(self, worker: str, msg: ReadOutput) -> OutputChunk | None:
        """The worker's answer to a read of what it runs or ran lately, if it has one."""
        answer = await self._ask(worker, _WORKER, msg)
        return answer if isinstance(answer, OutputChunk) and answer.found else None


def _slice(msg: ReadOutput, attempt: int, capture: Capture | None) -> OutputChunk:
    """A read of a finished attempt's capture, at the offsets the worker's reads used."""
    if capture is None:
        return OutputChunk(attempt, b"", msg.offset, False, found=False)
    piece, after = read_capture(*capture, msg.offset, msg.limit)
    return OutputChunk(attempt, piece, after, False)
