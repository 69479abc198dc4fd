"""What Raft needs from a disk, and the rules every implementation follows.

One ``save`` is one transaction and one fsync: the Raft actor calls it once
per Ready, so every vote, term change and appended entry produced by a burst
of messages reaches the disk together (group commit). Inside a save the
order is fixed: an installed snapshot first, then the entries, then the hard
state, so a hard state never points at a commit index whose entries are not
there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from transport.raft import Entry, HardState, Snapshot

__all__ = ["EMPTY_HARD_STATE", "LogImage", "PersistedState", "Storage"]

EMPTY_HARD_STATE = HardState(0, None, 0)


@attrs.frozen
class PersistedState:
    hard_state: HardState
    snapshot: Snapshot | None
    # contiguous, every index after the snapshot's
    entries: tuple[Entry, ...]


class Storage(Protocol):
    async def load(self) -> PersistedState: ...

    async def save(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        """Durable when it returns; entries replace the stored log from their first index on."""

    async def compact(self, snapshot: Snapshot) -> None:
        """Keep a locally taken snapshot and drop the entries it covers."""

    async def close(self) -> None: ...


@attrs.define
class LogImage:
    """The save/compact semantics on plain memory: MemoryStorage's disk and the tests' model."""

    hard_state: HardState = EMPTY_HARD_STATE
    snapshot: Snapshot | None = None
    entries: list[Entry] = attrs.Factory(list)

    def save(
        self, hard_state: HardState | None, entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        if snapshot is not None:
            self.install(snapshot)
        if entries:
            del self.entries[self._position(entries[0].index) :]
            self.entries.extend(entries)
        if hard_state is not None:
            self.hard_state = hard_state

    def install(self, snapshot: Snapshot) -> None:
        """A leader's snapshot: keep the entries after it only if our log agrees at its index."""
        anchored = any(e.index == snapshot.index and e.term == snapshot.term for e in self.entries)
        self.entries = [e for e in self.entries if e.index > snapshot.index] if anchored else []
        self.snapshot = snapshot

    def compact(self, snapshot: Snapshot) -> None:
        del self.entries[: self._position(snapshot.index + 1)]
        self.snapshot = snapshot

    def _position(self, index: int) -> int:
        """Where ``index`` is (or would go) in the contiguous entry list."""
        if not self.entries:
            return 0
        return min(max(index - self.entries[0].index, 0), len(self.entries))

    def state(self) -> PersistedState:
        return PersistedState(self.hard_state, self.snapshot, tuple(self.entries))
