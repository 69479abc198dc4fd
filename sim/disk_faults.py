"""The disk-full fault: a master's disks refuse every write for a while, then have room.

It needs no task of its own: a :class:`~runtime.storage.full.SpaceLimit` is
full until a moment of mock time, so the fault ends by itself, within
:data:`LONGEST_S`, whatever the scenario does next (the final phase included).
While it lasts, every Raft save and history write on that master raises
``StorageFull`` and keeps nothing, which is what SQLite does with a
transaction that does not fit. The master must neither crash nor vote or
acknowledge what it could not write, and must catch up once there is room.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from runtime.storage.full import SpaceLimit
from sim.harness import Simulation

__all__ = ["LONGEST_S", "fill_disks"]

REASON = "database or disk is full (simulated)"
SHORTEST_S = 0.05
LONGEST_S = 1.5


def fill_disks(sim: Simulation, name: str, disks: Sequence[SpaceLimit], rng: random.Random) -> None:
    """Fill every disk of ``name`` (its Raft log, its history) for a drawn while."""
    lasts = rng.uniform(SHORTEST_S, LONGEST_S)
    until = sim.now() + lasts
    for disk in disks:
        disk.fill(until, REASON)
    sim.note(f"fault disk full {name} for {lasts:.3f}s")
