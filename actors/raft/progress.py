"""What a leader knows about each follower's log, and how it paces replication to it.

A follower is in one of three modes (etcd's names): ``PROBE`` while the
leader is still looking for where the two logs agree (one append in flight at
a time), ``REPLICATE`` once they agree (appends are pipelined optimistically,
up to ``max_inflight`` unacknowledged messages), and ``SNAPSHOT`` while an
InstallSnapshot is on its way because the entries it needs were compacted.
"""

from __future__ import annotations

import enum
from collections import deque

__all__ = ["Mode", "Progress"]


class Mode(enum.Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


class Progress:
    __slots__ = (
        "beat_match",
        "inflight",
        "match",
        "mode",
        "next",
        "paused",
        "read_ctx",
        "recent_active",
        "snapshot_index",
    )

    def __init__(self, next_index: int) -> None:
        self.match = 0
        self.next = next_index
        self.mode = Mode.PROBE
        self.paused = False
        # the last index carried by each unacknowledged append, oldest first
        self.inflight: deque[int] = deque()
        self.recent_active = False
        self.snapshot_index = 0
        # the newest heartbeat round this follower answered (ReadIndex)
        self.read_ctx = 0
        # ``match`` at the previous heartbeat answer: no movement since means lost appends
        self.beat_match = 0

    def become_probe(self) -> None:
        if self.mode is Mode.SNAPSHOT:
            self.next = max(self.match + 1, self.snapshot_index + 1)
        else:
            self.next = self.match + 1
        self.mode = Mode.PROBE
        self.paused = False
        self.inflight.clear()
        self.snapshot_index = 0

    def become_replicate(self) -> None:
        self.mode = Mode.REPLICATE
        self.next = self.match + 1
        self.paused = False
        self.inflight.clear()

    def become_snapshot(self, index: int) -> None:
        self.mode = Mode.SNAPSHOT
        self.snapshot_index = index
        self.inflight.clear()

    def update(self, index: int) -> bool:
        """An acknowledgement up to ``index``; True when it moved ``match``."""
        moved = index > self.match
        if moved:
            self.match = index
            self.paused = False
        self.next = max(self.next, index + 1)
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()
        return moved

    def sent(self, last: int) -> None:
        """An append carrying entries up to ``last`` went out."""
        if self.mode is Mode.REPLICATE:
            self.next = last + 1
            self.inflight.append(last)
        else:
            self.paused = True

    def can_send(self, max_inflight: int) -> bool:
        if self.mode is Mode.SNAPSHOT:
            return False
        if self.mode is Mode.PROBE:
            return not self.paused
        return len(self.inflight) < max_inflight

    def back_off(self, rejected: int, next_index: int) -> None:
        """The append after ``rejected`` failed: retry from ``next_index``, not below the match."""
        self.next = max(self.match + 1, min(next_index, rejected))
        self.mode = Mode.PROBE
        self.paused = False
        self.inflight.clear()
