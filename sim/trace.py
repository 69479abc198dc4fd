"""The event trace of a simulation run, and its fingerprint.

Every delivery, drop, fault, node start/crash and supervisor decision is one
line stamped with the mock time. Two runs that did the same things in the
same order at the same times have the same lines, so the sha256 of the trace
is the run's fingerprint: ``--check-determinism`` compares fingerprints, and
a differing line is where determinism broke.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from collections.abc import Callable

from transport.envelope import Envelope
from transport.simnet import NetEvent

__all__ = ["SupervisorLogBridge", "Trace", "current_node", "describe"]

# which simulated node the running task belongs to, inherited by every task it spawns
current_node: contextvars.ContextVar[str] = contextvars.ContextVar("sim_node", default="-")


class Trace:
    __slots__ = ("_now", "lines")

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        self.lines.append(f"{self._now():.6f} {text}")

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for line in self.lines:
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()


def _route(src: str, dst: str, envelope: Envelope) -> str:
    kind = ""
    if envelope.corr:
        kind = f" reply#{envelope.corr}" if envelope.reply else f" ask#{envelope.corr}"
    return f"{src}/{envelope.src_name or '-'}->{dst}/{envelope.dst_name}{kind}"


def describe(event: NetEvent) -> str:
    """One trace line's text for a network event: what happened to which copy of what."""
    what = event.kind.value if event.reason is None else f"drop({event.reason.value})"
    route = _route(event.src, event.dst, event.envelope)
    return f"{what} #{event.seq} {route} {event.envelope.body!r}"


class SupervisorLogBridge(logging.Handler):
    """Copies podium's log lines (supervisor starts and crashes, leader and worker events)
    into the trace, so a replay shows them in order with the steps."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(logging.INFO)
        self._trace = trace

    def emit(self, record: logging.LogRecord) -> None:
        error = getattr(record, "error", None)
        suffix = f" error={error}" if error is not None else ""
        component = record.name.removeprefix("podium.")
        self._trace.add(f"{current_node.get()} {component} {record.getMessage()}{suffix}")
