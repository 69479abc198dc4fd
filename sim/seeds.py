"""Every random draw of a simulation, derived from its one seed.

Each consumer (the network, the fault schedule, each incarnation of each
node, trio's scheduler) gets its own stream, named by a label: the stream is
``random.Random(derive_seed(seed, label))``. Naming rather than drawing the
child seeds in order means a scenario that adds a stream does not shift the
draws of the others, so one change does not reshuffle every existing seed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import random
from collections.abc import Iterator

__all__ = ["derive_seed", "deterministic_scheduling", "stream"]


def derive_seed(seed: int, label: str) -> int:
    digest = hashlib.sha256(f"podium-sim/{seed}/{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stream(seed: int, label: str) -> random.Random:
    return random.Random(derive_seed(seed, label))


@contextlib.contextmanager
def deterministic_scheduling(seed: int) -> Iterator[None]:
    """Make trio's scheduler order a function of ``seed`` for the runs inside the block.

    trio shuffles each batch of runnable tasks with a private module-level
    ``random.Random``; with ``_ALLOW_DETERMINISTIC_SCHEDULING`` set it first
    sorts the batch by task creation order, so the shuffle depends only on
    that RNG's state. This is trio's own recipe for Hypothesis and it is
    private API, which is why pyproject pins trio's version. Both values are
    restored afterwards so code running later in the process is unaffected.
    """
    namespace = vars(importlib.import_module("trio._core._run"))
    scheduler_rng: random.Random = namespace["_r"]
    flag = namespace["_ALLOW_DETERMINISTIC_SCHEDULING"]
    state = scheduler_rng.getstate()
    namespace["_ALLOW_DETERMINISTIC_SCHEDULING"] = True
    scheduler_rng.seed(seed)
    try:
        yield
    finally:
        namespace["_ALLOW_DETERMINISTIC_SCHEDULING"] = flag
        scheduler_rng.setstate(state)
