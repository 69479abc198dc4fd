"""The disk-full fault, and the liveness check it calls for.

The fault: a master's disks refuse every write for a while, then have room.
It needs no task of its own: a :class:`~runtime.storage.full.SpaceLimit` is
full until a moment of mock time, so the fault ends by itself whatever the
scenario does next (the final phase included). While it lasts, every Raft
save and history write on that master raises ``StorageFull`` and keeps
nothing, which is what SQLite does with a transaction that does not fit. The
master must neither crash nor vote or acknowledge what it could not write,
and must catch up once there is room. :func:`fill_disks` fills a drawn
master for a drawn while (up to :data:`LONGEST_S`, the chaos scenarios' way);
:func:`fill_disks_for` fills a chosen one (the current leader, in
``leader_disk_full``) for as long as the scenario says, which must be several
election timeouts to tell a leader that steps aside from one that clings on.

The check, :class:`KeepsCommitting`: safety alone could not see the bug that
made this fault class necessary. A leader whose disk was full went on sending
heartbeats ahead of its (failing) writes, so its followers never timed out,
it stayed leader, committed nothing (a leader counts its own log only once it
is durable) and every write through every master failed with 507. Nothing
unsafe happened; the cluster just stopped. So while a member's disk is full
and the members that can write are a majority, up, running and connected to
each other, they must commit an entry appended after the disk filled within a
few election timeouts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import attrs

from actors.raft.core import RaftCore, Role
from runtime.storage.full import SpaceLimit
from sim.harness import Simulation

__all__ = [
    "COMMIT_WITHIN_TIMEOUTS",
    "LONGEST_S",
    "KeepsCommitting",
    "fill_disks",
    "fill_disks_for",
]

REASON = "database or disk is full (simulated)"
SHORTEST_S = 0.05
LONGEST_S = 1.5
# how long the members that can write may take to commit again once another member's
# disk filled, in their longest election timeouts: the full leader's next write fails
# (as soon as the load proposes), it falls silent, its followers' timers run out (one
# timeout at most, from when they last heard it), a pre-vote and a vote (a split vote
# costs another timeout), and the new leader's entries commit
COMMIT_WITHIN_TIMEOUTS = 3


def fill_disks(sim: Simulation, name: str, disks: Sequence[SpaceLimit], rng: random.Random) -> None:
    """Fill every disk of ``name`` (its Raft log, its history) for a drawn while."""
    fill_disks_for(sim, name, disks, rng.uniform(SHORTEST_S, LONGEST_S))


def fill_disks_for(
    sim: Simulation, name: str, disks: Sequence[SpaceLimit], seconds: float
) -> float:
    """Fill every disk of ``name`` for ``seconds``; returns when they have room again."""
    until = sim.now() + seconds
    for disk in disks:
        disk.fill(until, REASON)
    sim.note(f"fault disk full {name} for {seconds:.3f}s")
    return until


@attrs.define
class _Episode:
    """One stretch of time with the same members full and the same ones healthy."""

    full: tuple[str, ...]
    healthy: tuple[str, ...]
    since: float
    # the last index any member's log held when it began: committing past it means an
    # entry appended after the disk filled committed (what the full leader had written
    # before may still commit through it, and proves nothing)
    mark: int
    done: bool = False


class KeepsCommitting:
    """Liveness with a full disk: a healthy majority commits within ``within_s``.

    After every step it looks at which members have a full disk and which are
    healthy (up, not paused, no disk full, and able to reach every other such
    member both ways: two that cannot reach each other both count as unhealthy,
    which only makes the check hold off). While some member is full and the healthy ones are a
    majority of all members, one of them must commit past every index any log
    held when that began, within ``within_s``; a change of who is full or
    healthy starts the wait afresh. It needs load (proposals) meanwhile: an idle
    cluster appends nothing and so commits nothing, rightly.
    """

    def __init__(
        self,
        sim: Simulation,
        cores: Callable[[], Mapping[str, RaftCore | None]],
        disks: Mapping[str, Sequence[SpaceLimit]],
        within_s: float,
    ) -> None:
        """``cores`` gives each member's Raft core (None while it is down); ``disks``
        each member's disks, any of which full makes it full."""
        self.sim = sim
        self.cores = cores
        self.disks = disks
        self.within_s = within_s
        self.episode: _Episode | None = None
        # how long each met episode took to commit past its mark (the check is not vacuous)
        self.recoveries: list[float] = []

    def check(self) -> str | None:
        cores = self.cores()
        full = tuple(name for name in sorted(self.disks) if any(d.full for d in self.disks[name]))
        healthy = self._healthy(cores, full)
        if not full or 2 * len(healthy) <= len(cores):
            self.episode = None
            return None
        now = self.sim.now()
        episode = self.episode
        if episode is None or (episode.full, episode.healthy) != (full, healthy):
            mark = max((c.log.last_index for c in cores.values() if c is not None), default=0)
            self.episode = _Episode(full, healthy, now, mark)
            return None
        if episode.done:
            return None
        commit = max(core.commit for name in healthy if (core := cores[name]) is not None)
        if commit > episode.mark:
            episode.done = True
            self.recoveries.append(now - episode.since)
            return None
        if now - episode.since > self.within_s:
            leaders = sorted(
                f"{name} (term {core.term})"
                for name, core in cores.items()
                if core is not None and core.role is Role.LEADER
            )
            return (
                f"{', '.join(full)} full for {now - episode.since:.3f}s while "
                f"{', '.join(healthy)} were healthy and connected, and they committed nothing "
                f"past index {episode.mark} (commit {commit}); leading: "
                f"{', '.join(leaders) or 'nobody'}"
            )
        return None

    def _healthy(
        self, cores: Mapping[str, RaftCore | None], full: Sequence[str]
    ) -> tuple[str, ...]:
        sim = self.sim
        candidates = [
            name
            for name in sorted(cores)
            if cores[name] is not None and name not in full and sim.running(name)
        ]
        return tuple(
            name for name in candidates if all(sim.connected(name, other) for other in candidates)
        )
