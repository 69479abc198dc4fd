"""The process pool: sync handlers run in child processes, so they use every core and stop.

A worker with capacity N keeps at most N children (:mod:`actors.worker.child`),
started when a sync job first needs one and reused for job after job, as
Celery's prefork pool does. Threads cannot give either property: CPU-bound
Python holds the GIL, so N threads share one core, and a thread cannot be
stopped, so a timed-out handler ran on in the background while the next job
took its slot.

Stopping a job (its timeout, a cancel, a lost lease, the worker stopping) is
done for real and in order: a stop signal raises :class:`SoftTimeLimit` or
:class:`JobCancelled` inside the handler; the handler has ``kill_grace_s`` to
finish its ``finally`` blocks and reply; then the child is SIGKILLed. Only
once the child replied or is dead does :meth:`ProcessPool.run` return (or
re-raise the cancellation), and only then is its slot given to the next job.
A child that was stopped is replaced rather than reused: the handler may
have left it in any state, and a stop signal that crossed the reply must not
reach the next job.

A child that dies (a segfault, ``os._exit``, the OOM killer) fails the one job
it ran with ``worker process died: signal 11`` or ``exit code 3`` and is
replaced; ``max_jobs_per_child`` replaces a child after that many jobs (for
handlers that leak memory). :class:`PoolBook` is the pure bookkeeping of
which child runs what; :class:`ProcessPool` is the trio shell around it.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import attrs
import msgpack
import trio

from actors.worker.child import PIPE_FRAME_LIMIT, STOP_CANCEL, STOP_TIMEOUT
from actors.worker.errors import JobFailed, Permanent
from actors.worker.handlers import JobContext
from actors.worker.job_trace import JobTrace
from actors.worker.output_capture import current_sink
from transport.frames import FrameDecoder, frame

__all__ = ["KILL_GRACE_S", "PoolBook", "ProcessPool", "describe_exit"]

log = logging.getLogger("podium.worker")

# how long a stopped handler gets to clean up before its process is killed
KILL_GRACE_S = 2.0

C = TypeVar("C")


class PoolBook(Generic[C]):
    """Which child runs which job, which ones wait, and which must be replaced.

    No I/O: children are opaque handles. The pool's semaphore keeps at most
    ``size`` jobs inside at once, so a job either takes an idle child or adds
    a new one; more than ``size`` children would be a bug, and raises.
    """

    def __init__(self, size: int, max_jobs_per_child: int = 0) -> None:
        if size < 1 or max_jobs_per_child < 0:
            raise ValueError("a pool needs size >= 1 and max_jobs_per_child >= 0")
        self.size = size
        self.max_jobs_per_child = max_jobs_per_child
        self._idle: list[C] = []
        self._jobs: dict[C, str] = {}
        self._done: dict[C, int] = {}

    def take(self, job: str) -> C | None:
        """An idle child, now running ``job``; None: start a new one (then :meth:`add`)."""
        if not self._idle:
            return None
        child = self._idle.pop()
        self._jobs[child] = job
        return child

    def add(self, child: C, job: str) -> None:
        if len(self._done) >= self.size:
            raise RuntimeError(f"a pool of {self.size} cannot take another child")
        self._done[child] = 0
        self._jobs[child] = job

    def release(self, child: C, *, reusable: bool) -> bool:
        """``child``'s job is over. True: it waits for the next job. False: replace it
        (it was stopped or died, or it has run ``max_jobs_per_child`` jobs); call
        :meth:`remove` once it is gone."""
        if child not in self._done:  # the pool closed and removed it meanwhile
            return False
        del self._jobs[child]
        self._done[child] += 1
        quota = self.max_jobs_per_child
        if reusable and not (quota and self._done[child] >= quota):
            self._idle.append(child)
            return True
        return False

    def remove(self, child: C) -> None:
        self._jobs.pop(child, None)
        self._done.pop(child, None)
        if child in self._idle:
            self._idle.remove(child)

    def running(self) -> dict[str, C]:
        return {job: child for child, job in self._jobs.items()}

    def children(self) -> list[C]:
        return list(self._done)


# what a child sends while a job runs, before its reply
_STREAMED = frozenset({"out", "progress", "spans"})


def describe_exit(returncode: int) -> str:
    return f"signal {-returncode}" if returncode < 0 else f"exit code {returncode}"


@attrs.define(eq=False)
class _Child:
    """One child process and the parent's end of its socket pair."""

    process: trio.Process
    stream: trio.SocketStream
    decoder: FrameDecoder = attrs.Factory(lambda: FrameDecoder(PIPE_FRAME_LIMIT))
    frames: list[bytes] = attrs.Factory(list)

    async def send(self, message: object) -> None:
        body = msgpack.packb(message, use_bin_type=True)
        await self.stream.send_all(frame(body, PIPE_FRAME_LIMIT))

    async def receive(self) -> Any:
        """The child's next message; None once it closed its end (it died or exited)."""
        while not self.frames:
            try:
                data = await self.stream.receive_some(1 << 16)
            except trio.BrokenResourceError:
                return None
            if not data:
                return None
            self.frames.extend(self.decoder.feed(data))
        return msgpack.unpackb(self.frames.pop(0), raw=False)

    async def reply(self, context: JobContext) -> Any:
        """The child's reply to a job. What it streams meanwhile: output
        (``["out", data]``) into the job's capture (see
        :mod:`actors.worker.output_capture`), ``["progress", job, attempt, fraction,
        text]`` to ``context``'s progress, and ``["spans", job, attempt, records]`` made
        into spans under the job's execute span (see :mod:`runtime.span_records`). None:
        it died.

        Progress and spans are of the job ``context`` runs, with no check here: the child
        drops a value from a context other than the running job's (a thread an earlier
        job left running, see :class:`~actors.worker.progress.ChildProgress`), sends
        nothing of a job after its reply, and a child stopped during a job never runs
        another."""
        sink = current_sink()
        while (message := await self.receive()) is not None and message[0] in _STREAMED:
            kind = message[0]
            if kind == "out":
                if sink is not None:
                    sink.write(message[1])
            elif kind == "progress":
                if context.on_progress is not None:
                    context.on_progress(message[3], message[4])
            elif isinstance(context.spans, JobTrace):  # what asked the child to record them
                context.spans.replay(message[3])
        return message

    def signal(self, signum: int) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signum)


class ProcessPool:
    """Runs sync handlers in up to ``size`` reused child processes (see the module doc)."""

    def __init__(
        self,
        size: int,
        modules: Sequence[str] = (),
        *,
        max_jobs_per_child: int = 0,
        kill_grace_s: float = KILL_GRACE_S,
    ) -> None:
        self.modules = tuple(modules)
        self.kill_grace_s = kill_grace_s
        self._book: PoolBook[_Child] = PoolBook(size, max_jobs_per_child)
        self._slots = trio.Semaphore(size)
        self._serving = False
        self._closed = False

    # -- lifetime ---------------------------------------------------------------------

    def serve_in(self, nursery: trio.Nursery) -> None:
        """Tie the children's lifetime to ``nursery`` (once): when it is cancelled, they die."""
        if not self._serving:
            self._serving = True
            nursery.start_soon(self._serve)

    async def _serve(self) -> None:
        async with self:
            await trio.sleep_forever()

    async def __aenter__(self) -> ProcessPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Kill every child and reap it. A job being stopped (the worker is stopping, so
        its task was cancelled too) first gets its grace period to clean up."""
        self._closed = True
        with trio.CancelScope(shield=True):
            with trio.move_on_after(self.kill_grace_s):
                while self._book.running():
                    await trio.sleep(0.05)
            for job, child in self._book.running().items():
                log.warning(
                    "worker stopping, killing the process of a running job",
                    extra={"job": job, "pid": child.process.pid},
                )
            for child in self._book.children():
                await self._reap(child, grace_s=0.0)
                self._book.remove(child)

    @property
    def size(self) -> int:
        return self._book.size

    @property
    def max_jobs_per_child(self) -> int:
        return self._book.max_jobs_per_child

    # -- running a job -----------------------------------------------------------------

    async def run(
        self,
        job_type: str,
        payload: object,
        context: JobContext,
        scope: trio.CancelScope,
        started: Callable[[], None],
    ) -> object:
        """The handler's result; a failure raises :class:`JobFailed` with the detail.

        ``started()`` runs once a child is ready for the job (the caller starts the
        job's clock there, moving ``scope``'s deadline). Cancelled (the deadline
        passed, or the caller cancelled): stops the handler (see the module doc), and
        only then re-raises.
        """
        async with self._slots:
            child = self._book.take(context.job_id)
            while child is not None and child.process.returncode is not None:
                # it died while idle (the OOM killer, say): no job of its to fail
                self._book.remove(child)
                await self._reap(child, 0.0)
                child = self._book.take(context.job_id)
            if child is None:
                child = await self._start()
                self._book.add(child, context.job_id)
            started()
            reply = None
            try:
                reply = await self._exchange(child, job_type, payload, context, scope)
                if reply is None:
                    await self._reap(child, self.kill_grace_s)
                    reason = describe_exit(child.process.returncode or 0)
                    log.warning(
                        "worker process died",
                        extra={
                            "job": context.job_id,
                            "pid": child.process.pid,
                            "exit": reason,
                            "trace_id": context.trace_id,
                        },
                    )
                    raise JobFailed(f"worker process died: {reason}")
                if reply[0] == "ok":
                    return msgpack.unpackb(reply[1], raw=False)
                result = None if reply[2] is None else msgpack.unpackb(reply[2], raw=False)
                raise (Permanent if reply[3] else JobFailed)(reply[1], result)
            finally:
                if not self._book.release(child, reusable=reply is not None):
                    # a child that answered is idle and may exit on its own; any other is killed
                    await self._reap(child, self.kill_grace_s if reply is not None else 0.0)
                    self._book.remove(child)

    async def _exchange(
        self,
        child: _Child,
        job_type: str,
        payload: object,
        context: JobContext,
        scope: trio.CancelScope,
    ) -> Any:
        """The child's reply; None: it died."""
        request = {
            "type": job_type,
            "payload": payload,
            "job": context.job_id,
            "attempt": context.attempt,
            "parents": dict(context.parents),
        }
        if context.traceparent:
            request["traceparent"] = context.traceparent
            # the child records the handler's spans only when the worker makes them
            request["spans"] = isinstance(context.spans, JobTrace)
        try:
            # cancelled while sending: the job never started, and the caller kills the child
            await child.send(request)
        except trio.BrokenResourceError:
            return None
        try:
            return await child.reply(context)
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await self._stop(child, context, trio.current_time() >= scope.deadline)
            raise

    async def _stop(self, child: _Child, context: JobContext, timed_out: bool) -> None:
        """Signal the handler to stop and wait up to the grace period for its reply; the
        caller then kills the child whatever happened (see the module doc)."""
        child.signal(STOP_TIMEOUT if timed_out else STOP_CANCEL)
        with trio.move_on_after(self.kill_grace_s):
            if await child.reply(context) is not None:
                return
        if child.process.returncode is None:
            log.warning(
                "handler did not stop within its grace period, killing its process",
                extra={
                    "job": context.job_id,
                    "pid": child.process.pid,
                    "trace_id": context.trace_id,
                },
            )

    async def _start(self) -> _Child:
        if self._closed:
            raise trio.ClosedResourceError("the worker's process pool is closed")
        ours, theirs = socket.socketpair()
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "actors.worker.child", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                # its own session: a Ctrl-C on the worker's terminal is the worker's to handle
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        child = _Child(process, trio.SocketStream(trio.socket.from_stdlib_socket(ours)))
        try:
            await child.send({"path": sys.path, "modules": self.modules})
            ready = await child.receive()
        except BaseException:
            await self._reap(child, 0.0)
            raise
        if ready is None or ready[0] != "ready":
            await self._reap(child, 0.0)
            why = ready[1] if ready is not None else "it exited during start-up"
            raise JobFailed(f"worker process could not start: {why}")
        return child

    async def _reap(self, child: _Child, grace_s: float) -> None:
        """Close our end (the child's cue to exit), wait ``grace_s``, kill, and reap."""
        with trio.CancelScope(shield=True):
            await child.stream.aclose()
            with trio.move_on_after(grace_s):
                await child.process.wait()
            if child.process.returncode is None:
                child.process.kill()
            await child.process.wait()
