"""A worker's side of ``podium logs``: it answers reads of what it holds and hands each
finished capture to the masters.

Nothing here waits: a finished capture is sent to every master's ``output``
actor with ``try_send`` (one message each, no answer awaited), so shipping
output never holds a slot or delays a report. A master that misses it (it
was down, its link queue was full) still answers a read by asking its peers.
An attempt that printed nothing is not shipped at all, so output costs the
hot path nothing unless a job writes something.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from actors.worker.output import HeadTail, RecentOutputs
from runtime.actor import ActorContext
from transport.cluster import RunningJob
from transport.output_messages import OUTPUT_ACTOR, OutputChunk, ReadOutput, StoreOutput

__all__ = ["read_held", "ship_output"]

log = logging.getLogger("podium.worker")


def ship_output(
    ctx: ActorContext, masters: Sequence[str], key: RunningJob, output: HeadTail
) -> None:
    """Send a finished attempt's capture to every master, if it has any byte."""
    if not output.total:
        return
    # head and tail apart, so the masters answer reads at the offsets the worker did
    message = StoreOutput(key.job_id, key.attempt, b"", *output.capture())
    missed = [m for m in masters if not ctx.ref(m, OUTPUT_ACTOR).try_send(message)]
    if missed:
        log.info(
            "output not sent to some masters (their peers hold it)",
            extra={"job": key.job_id, "attempt": key.attempt, "masters": missed},
        )


def read_held(outputs: RecentOutputs, msg: ReadOutput) -> OutputChunk:
    """A read of an attempt this worker runs or ran lately; ``found`` False if not held."""
    held = outputs.get(msg.job_id, msg.attempt)
    if held is None:
        return OutputChunk(msg.attempt, b"", msg.offset, False, found=False)
    buffer, running = held
    data, next_offset = buffer.read(msg.offset, msg.limit)
    return OutputChunk(msg.attempt, data, next_offset, running)
