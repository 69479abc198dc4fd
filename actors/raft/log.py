"""The Raft log as the core sees it: a snapshot boundary plus the entries after it.

Entries before the boundary were compacted into a snapshot; only the term of
the last compacted entry is kept, because the consistency check of the first
append after the boundary needs it. ``stable`` is how far the log is known
to be on disk: the leader counts only that far towards a commit, so nothing
is acknowledged before it is durable. ``persisting`` is how far entries have
been handed to the disk, durable or not yet: a runtime that writes one batch
while the core goes on appending the next (pipelining) is not handed the
same entries twice, and a write that completes marks them stable by index
and term (:meth:`RaftLog.stable_to`), as etcd's ``stableTo`` does, so a write
overtaken by a truncation of its entries marks nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from transport.raft import Entry, Snapshot

__all__ = ["RaftLog"]


def _term(entry: Entry) -> int:
    return entry.term


class RaftLog:
    __slots__ = ("entries", "offset", "offset_term", "persisting", "stable")

    def __init__(self, snapshot: Snapshot | None, entries: Sequence[Entry]) -> None:
        self.offset = snapshot.index if snapshot else 0
        self.offset_term = snapshot.term if snapshot else 0
        self.entries: list[Entry] = [e for e in entries if e.index > self.offset]
        self.stable = self.last_index
        self.persisting = self.stable

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; None when it is compacted away or beyond the end."""
        if index == self.offset:
            return self.offset_term
        if index < self.offset or index > self.last_index:
            return None
        return self.entries[index - self.offset - 1].term

    def matches(self, index: int, term: int) -> bool:
        return self.term_at(index) == term

    def slice(self, start: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries from ``start`` (which must be after the boundary)."""
        lo = start - self.offset - 1
        return self.entries[lo : lo + limit]

    def append(self, entry: Entry) -> None:
        self.entries.append(entry)

    def merge(self, entries: Sequence[Entry]) -> int:
        """Append a leader's entries, truncating at the first conflict; returns the last index."""
        for pos, entry in enumerate(entries):
            if entry.index <= self.offset:
                continue
            existing = self.term_at(entry.index)
            if existing == entry.term:
                continue
            if existing is not None:
                del self.entries[entry.index - self.offset - 1 :]
                self.stable = min(self.stable, entry.index - 1)
                self.persisting = min(self.persisting, entry.index - 1)
            self.entries.extend(entries[pos:])
            break
        return entries[-1].index if entries else 0

    def first_index_of_term(self, index: int) -> int:
        """The first index of the term that holds ``index`` (not before the boundary)."""
        term = self.term_at(index) or 0
        pos = bisect_left(self.entries, term, hi=index - self.offset, key=_term)
        return self.offset + pos + 1

    def last_index_of_term(self, term: int) -> int | None:
        """The last index holding ``term``; terms only grow along a log, so bisect."""
        pos = bisect_right(self.entries, term, key=_term)
        if pos and self.entries[pos - 1].term == term:
            return self.offset + pos
        if pos == 0 and self.offset and self.offset_term == term:
            return self.offset
        return None

    def unpersisted(self) -> list[Entry]:
        """Entries not yet handed to the disk."""
        return self.entries[self.persisting - self.offset :]

    def stable_to(self, index: int, term: int) -> None:
        """A write of entries up to ``index`` (of ``term``) is durable. Ignored when the
        log no longer holds that entry (it was truncated and replaced meanwhile):
        by the log matching property, an entry of the same index and term means
        the same prefix, so anything else is not what was written."""
        if index > self.stable and self.term_at(index) == term:
            self.stable = index
            self.persisting = max(self.persisting, index)

    def persist_failed(self) -> None:
        """The writes handed out since the last durable one are lost: hand them out again."""
        self.persisting = self.stable

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Raft §5.4.1: a candidate's log is at least as up to date as ours."""
        return (last_term, last_index) >= (self.last_term, self.last_index)

    def compact(self, index: int, term: int) -> None:
        """Drop entries up to ``index``: a snapshot now covers them."""
        drop = index - self.offset
        del self.entries[:drop]
        self.offset = index
        self.offset_term = term
        self.stable = max(self.stable, index)
        self.persisting = max(self.persisting, index)

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole log with a leader's snapshot."""
        self.entries = []
        self.offset = snapshot.index
        self.offset_term = snapshot.term
        self.stable = self.persisting = snapshot.index
