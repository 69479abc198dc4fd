"""Raft's safety properties over a synchronous test network, for tests that fault it at random."""

from __future__ import annotations

from actors.raft.core import Role
from actors.raft.harness import Network


class SafetyChecker:
    """Remembers what was ever committed and who led each term; ``check`` after every step."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.leaders: dict[int, str] = {}
        self.committed: dict[int, bytes] = {}

    def check(self) -> str | None:
        net = self.net
        for node, applied in net.applied.items():
            for entry in applied:
                first = self.committed.setdefault(entry.index, entry.data)
                if first != entry.data:
                    return f"state machine safety: {node} applied {entry.data!r} at {entry.index}"
        cores = [c for n, c in net.cores.items() if n not in net.down]
        for core in cores:
            if core.role is Role.LEADER:
                seen = self.leaders.setdefault(core.term, core.id)
                if seen != core.id:
                    return f"election safety: {seen} and {core.id} lead term {core.term}"
        for i, a in enumerate(cores):
            for b in cores[i + 1 :]:
                hi = min(a.log.last_index, b.log.last_index)
                lo = max(a.log.offset, b.log.offset)
                for index in range(hi, lo, -1):
                    if a.log.term_at(index) == b.log.term_at(index):
                        if a.log.slice(lo + 1, index - lo) != b.log.slice(lo + 1, index - lo):
                            return f"log matching: {a.id} and {b.id} differ before {index}"
                        break
        return None
