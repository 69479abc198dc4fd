"""Single submits that arrive together go to the master as one ``SubmitJobs``.

Every ``SubmitJobs`` the gateway sends becomes one Raft entry, one encode on
the leader and one apply on every master, whatever the number of jobs in it;
a client that submits one job per call with many calls in flight would
otherwise pay that per job. So the submits a gateway receives while another
batch of them is on its way are queued, and the next flush takes the whole
queue (up to ``max_jobs``) as one message: under load a batch holds what
arrived during the previous round trip, and an idle gateway sends a lone
submit at once (a flush waits only for the other tasks already runnable in
this turn of the event loop).

A caller may bring several jobs at once (a native session hands over all the
submits one read of its socket brought); they stay together in one batch.
Each caller still gets its own jobs' ids and statuses, and an error (no leader,
a timeout) reaches every caller of the batch, as it would have reached each
of them alone. The gateway keeps keyed submits in a batcher of their own:
the leader looks all of a batch's keys up in one pass, and a key that comes
twice in one batch still makes one job (the state machine answers the second
with the first). Keys a client made for a call and sends for the first time
(``fresh``) batch apart again: no job can hold them yet, so their batches skip
the lookup. A flush is shielded from cancellation (the gateway's
own deadline bounds it): one caller giving up must not strand the others'
answers.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable

import trio

from transport.cluster import JobSpec, JobStatus, SubmitJobs, Submitted
from transport.codec import Message

__all__ = ["SubmitBatcher"]


class _Pending:
    __slots__ = ("error", "event", "result", "specs")

    def __init__(self, specs: tuple[JobSpec, ...]) -> None:
        self.specs = specs
        self.event = trio.Event()
        self.result: tuple[JobStatus, ...] | None = None
        self.error: Exception | None = None


class SubmitBatcher:
    def __init__(
        self,
        call: Callable[[Message], Awaitable[Message]],
        *,
        max_jobs: int = 1024,
        max_flushes: int = 2,
        fresh: bool = False,
    ) -> None:
        """``call`` sends a message to the leader (``Gateway.call``); at most
        ``max_flushes`` batches are in flight at once, so the next one keeps filling.
        ``fresh``: every job's key is fresh (see :class:`~transport.cluster.SubmitJobs`)."""
        self._call = call
        self._fresh = fresh
        self._max_jobs = max_jobs
        self._max_flushes = max_flushes
        self._queue: collections.deque[_Pending] = collections.deque()
        self._flushing = 0

    async def submit(self, specs: tuple[JobSpec, ...]) -> tuple[JobStatus, ...]:
        """The jobs' ids and statuses, in order, once committed (in one batch)."""
        pending = _Pending(specs)
        self._queue.append(pending)
        while True:
            if pending.error is not None:
                raise pending.error
            if pending.result is not None:
                return pending.result
            if self._flushing < self._max_flushes and self._queue:
                await self._flush()
            else:
                try:
                    await pending.event.wait()
                except BaseException:
                    self._leave(pending)
                    raise
                pending.event = trio.Event()

    def _leave(self, pending: _Pending) -> None:
        """A caller gave up before its job was sent: drop it, and make sure someone leads."""
        if pending in self._queue:
            self._queue.remove(pending)
        if self._queue and self._flushing < self._max_flushes:
            self._queue[0].event.set()

    async def _flush(self) -> None:
        self._flushing += 1
        batch: list[_Pending] = []
        try:
            # the other submits runnable in this turn join the batch
            await trio.lowlevel.cancel_shielded_checkpoint()
            jobs = 0
            while self._queue and (not batch or jobs + len(self._queue[0].specs) <= self._max_jobs):
                batch.append(self._queue.popleft())
                jobs += len(batch[-1].specs)
            if not batch:
                return
            specs = tuple(spec for p in batch for spec in p.specs)
            with trio.CancelScope(shield=True):
                try:
                    answer = await self._call(SubmitJobs(specs, self._fresh))
                except Exception as exc:
                    for p in batch:
                        p.error = exc
                    return
            if not isinstance(answer, Submitted) or len(answer.jobs) != len(specs):
                problem = RuntimeError(f"unexpected answer to a submit: {type(answer).__name__}")
                for p in batch:
                    p.error = problem
                return
            start = 0
            for p in batch:
                p.result = answer.jobs[start : start + len(p.specs)]
                start += len(p.specs)
        finally:
            self._flushing -= 1
            for p in batch:
                p.event.set()
            if self._queue:
                # someone still queued leads the next flush
                self._queue[0].event.set()
