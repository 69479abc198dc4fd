"""A worker's child process: imports the handler modules, then runs sync jobs one at a time.

The pool starts it as ``python -m actors.worker.child FD`` through
``subprocess`` (fork and exec at once): a fresh interpreter, the ``spawn``
model. Forking the worker itself (``multiprocessing``'s ``fork``) would copy a
process that runs a trio loop and threads (SQLite, ``to_thread``): locks held
by threads that do not exist in the copy, trio's wakeup fd and signal
handlers, half-written buffers. ``forkserver`` would avoid that but keeps a
process-wide server with global preload state. A fresh interpreter costs a
few hundred milliseconds to start and import the user's modules (``--handlers``,
sent in the hello), which a child pays once: it is reused for job after job.

The child talks to the worker over a socket pair (FD, passed down by the
pool), in the length-prefixed msgpack frames of :mod:`transport.frames`:

- worker to child: ``{"path": sys.path, "modules": [...]}`` once, then one
  ``{"type", "payload", "job", "attempt", "parents"}`` per job (a traced job's
  adds ``"traceparent"`` and ``"spans"``); closing the socket tells
  the child to exit.
- child to worker: ``["ready"]`` (or ``["failed", detail]`` and exit) after the
  hello, then per job any number of ``["out", bytes]`` (what the handler printed
  or logged, line by line, for the attempt's capture) and one reply: ``["ok", packed_result]`` or
  ``["failed", detail, packed_result or None, permanent]`` (``permanent``: the
  handler raised :class:`~actors.worker.errors.Permanent`); while a job runs,
  any number of ``["progress", job, attempt, fraction, message]`` before its
  reply (``ctx.progress``, see :mod:`actors.worker.progress`), and, for a
  traced job (the request holds ``"traceparent"`` and ``"spans": true``), one
  ``["spans", job, attempt, records]`` with what ``ctx.span`` recorded (see
  :mod:`runtime.span_records`).

To stop a running job the worker sends SIGUSR1 (timeout: raises
:class:`SoftTimeLimit` inside the handler) or SIGUSR2 (cancel:
:class:`JobCancelled`), waits a grace period for the reply, then SIGKILLs. A
signal that arrives between jobs is ignored. A watchdog thread exits the
child if the worker dies (its parent changes), so an orphan never runs on.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import msgpack

from actors.worker.capture import (
    OutputTail,
    UnstorableResult,
    failure_detail,
    invoke,
    packed_result,
    with_output,
)
from actors.worker.errors import JobCancelled, JobFailed, Permanent, SoftTimeLimit
from actors.worker.handlers import HandlerRegistry, JobContext
from actors.worker.output_capture import LOG_FORMAT
from actors.worker.progress import ChildProgress
from runtime.span_records import SpanRecorder
from transport.frames import MAX_FRAME_SIZE, FrameDecoder, frame

__all__ = ["PIPE_FRAME_LIMIT", "STOP_CANCEL", "STOP_TIMEOUT", "main"]

# the most output one ``["out", ...]`` message carries
OUTPUT_CHUNK = 64 * 1024
STOP_TIMEOUT = signal.SIGUSR1
STOP_CANCEL = signal.SIGUSR2
# a request carries a payload that came in one wire frame, plus a few fields
PIPE_FRAME_LIMIT = 2 * MAX_FRAME_SIZE
_PARENT_POLL_S = 0.5


@contextlib.contextmanager
def _stops_held() -> Iterator[None]:
    """The stop signals held back meanwhile, then the mask as it was (a caller that had
    them blocked keeps them blocked)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, (STOP_TIMEOUT, STOP_CANCEL))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _Pipe:
    """Blocking frame I/O on the child's end of the socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._decoder = FrameDecoder(PIPE_FRAME_LIMIT)
        self._frames: list[bytes] = []
        self._sending = threading.Lock()

    def send(self, message: object) -> None:
        body = frame(msgpack.packb(message, use_bin_type=True), PIPE_FRAME_LIMIT)
        # the handler's thread and the progress timer's both send: one frame at a time
        with self._sending:
            self._sock.sendall(body)

    def send_unstoppable(self, message: object) -> None:
        """Send with the stop signals held back, so none cuts a frame in half (a progress
        value is sent from within the handler, where a stop may land)."""
        with _stops_held():
            self.send(message)

    def receive(self) -> Any:
        """The next message, or None once the worker closed its end."""
        while not self._frames:
            data = self._sock.recv(1 << 16)
            if not data:
                return None
            self._frames.extend(self._decoder.feed(data))
        return msgpack.unpackb(self._frames.pop(0), raw=False)


class _Running:
    """Whether a handler runs now: a stop signal raises only then, and only once."""

    active = False


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    if not _Running.active:
        return
    _Running.active = False
    if signum == STOP_TIMEOUT:
        raise SoftTimeLimit("the job ran past its timeout")
    raise JobCancelled("the job was cancelled")


def _watch_parent(parent: int) -> None:
    """Exit when the worker is gone (a SIGKILLed worker closes no socket we could notice
    while a handler holds the main thread). ``PR_SET_PDEATHSIG`` would fire when the
    thread that started us exits, which trio's thread cache does on its own."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(70)

    threading.Thread(target=watch, name="podium-parent-watch", daemon=True).start()


class _Streamed(OutputTail):
    """The job's output: its tail kept for a failure's detail, and every line sent on to
    the worker as ``["out", bytes]`` (for the attempt's capture) as it is written.

    Lines are sent whole (a ``print`` is two writes), in pieces of at most
    :data:`OUTPUT_CHUNK`, with the stop signals held meanwhile: a stop that raised in
    the middle of a frame would leave the worker half a message."""

    def __init__(self, pipe: _Pipe) -> None:
        super().__init__()
        self._pipe = pipe
        self._pending = bytearray()

    def write(self, text: str) -> int:
        super().write(text)
        self._pending += text.encode("utf-8", "replace")
        if "\n" in text or len(self._pending) >= OUTPUT_CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._pending:
            return
        with _stops_held():
            while self._pending:
                self._pipe.send(["out", bytes(self._pending[:OUTPUT_CHUNK])])
                del self._pending[:OUTPUT_CHUNK]


@contextlib.contextmanager
def _captured(tail: _Streamed) -> Iterator[None]:
    """stdout, stderr and logging into ``tail`` for one job."""
    root = logging.getLogger()
    handler = logging.StreamHandler(tail)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = tail
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        sys.stdout, sys.stderr = saved
        tail.flush()


def _run(
    registry: HandlerRegistry, request: dict[str, Any], pipe: _Pipe, progress: ChildProgress
) -> list[object]:
    progress.start(request["job"], request["attempt"])
    try:
        return _run_handler(registry, request, pipe, progress)
    finally:
        progress.stop()


def _run_handler(
    registry: HandlerRegistry, request: dict[str, Any], pipe: _Pipe, progress: ChildProgress
) -> list[object]:
    entry = registry.get(request["type"])
    if entry is None or entry.is_async:
        return [
            "failed",
            f"no sync handler for job type {request['type']!r} in the worker's child "
            "process: register it in a module named with --handlers",
            None,
            False,
        ]
    recorder = SpanRecorder() if request.get("spans") else None
    job_id, attempt = request["job"], request["attempt"]
    context = JobContext(
        job_id,
        attempt,
        request.get("parents", {}),
        functools.partial(progress.report, job_id, attempt),
        recorder,
        request.get("traceparent", ""),
    )
    args = (request["payload"], context) if entry.wants_context else (request["payload"],)
    tail = _Streamed(pipe)
    with _captured(tail):
        try:
            try:
                _Running.active = True
                result = invoke(entry.fn, args)
            finally:
                _Running.active = False
                if recorder is not None and recorder.records:
                    pipe.send_unstoppable(["spans", job_id, attempt, recorder.finished()])
        except JobFailed as exc:
            return _failed(exc, tail)
        except BaseException as exc:  # a handler's SystemExit fails its job, not the child
            return ["failed", failure_detail(exc, tail.text()), None, False]
    try:
        return ["ok", packed_result(result)]
    except UnstorableResult as exc:
        return ["failed", with_output(str(exc), tail.text()), None, False]


def _failed(exc: JobFailed, tail: OutputTail) -> list[object]:
    """A :class:`JobFailed`: its message and result (when the result can travel), and
    whether it is :class:`Permanent`."""
    message = str(exc)
    try:
        packed = None if exc.result is None else packed_result(exc.result)
    except UnstorableResult as unstorable:
        message, packed = f"{message}\n{unstorable}", None
    return ["failed", with_output(message, tail.text()), packed, isinstance(exc, Permanent)]


def main(argv: list[str]) -> int:
    pipe = _Pipe(socket.socket(fileno=int(argv[1])))
    hello = pipe.receive()
    if hello is None:
        return 0
    sys.path[:] = hello["path"]
    # a handler's logger.info() reaches the captured output unless its module says otherwise
    logging.getLogger().setLevel(logging.INFO)
    registry = HandlerRegistry()
    try:
        for module in hello["modules"]:
            registry.load_module(module)
    except BaseException as exc:
        pipe.send(["failed", failure_detail(exc)])
        return 1
    _watch_parent(os.getppid())
    signal.signal(STOP_TIMEOUT, _on_stop_signal)
    signal.signal(STOP_CANCEL, _on_stop_signal)
    pipe.send(["ready"])
    progress = ChildProgress(pipe.send_unstoppable)
    while (request := pipe.receive()) is not None:
        pipe.send(_run(registry, request, pipe, progress))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
