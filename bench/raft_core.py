"""The Raft core alone: proposals committed per second on a 3-node in-memory network.

No disk and no sockets: every Ready is "persisted" into a list and messages
go through the harness queue, so this is the cost of the consensus logic
itself (stepping, log bookkeeping, commit counting), per committed entry.
Batch 1 is one proposal per round trip; batch 64 is what group commit sees
under load, many proposals in one Ready and one AppendEntries.
"""

from __future__ import annotations

from actors.raft.harness import Network
from bench.harness import BenchCase

PAYLOAD = b"x" * 100


def _committing(batch: int) -> BenchCase:
    net = Network(["m1", "m2", "m3"], seed=1)
    net.elect("m1")
    leader = net.cores["m1"]
    disks = net.disks

    def run() -> int:
        for _ in range(20):
            for _ in range(batch):
                leader.propose(PAYLOAD)
            net.settle()
        # keep memory flat across repeats: the bench measures stepping, not a growing list
        for node, core in net.cores.items():
            net.applied[node].clear()
            disks[node].entries.clear()
            core.compact(b"")
        return 20 * batch

    return BenchCase(f"raft.core.commit@batch{batch}", run)


def cases() -> list[BenchCase]:
    return [_committing(1), _committing(64)]
