"""Jobs that wait for other jobs: who waits on whom, what finished parents left behind,
and which blocked jobs to look at next. Pure bookkeeping for the job state machine.

A job with ``depends_on`` is born ``blocked``. It is released once none of
its parents is live (each is final): to ``pending`` (or ``scheduled``) when
every parent succeeded or its rule is ``run``; otherwise it is skipped
(``cancelled``, rule ``skip``) or failed (``dead``/``failed``, rule ``fail``),
in both cases with the reason :data:`PARENT_FAILED` and without running.

Everything here follows live work, like the rest of the table:

- ``children`` maps a parent id to its *live* children (child seq -> child
  id), so a parent that finishes finds the jobs waiting on it without a scan;
  it is rebuilt from the live jobs when a snapshot is restored.
- ``finals`` holds each final parent that still has live children: its
  status and its result (when small enough to hand on), for the release
  decision and for the children's ``ctx.parents``. It goes when the last
  such child leaves memory.
- ``candidates`` are blocked jobs to look at, in order: the children of a
  parent that just finished, and jobs born with no live parent. The table
  looks at no more than :data:`RELEASE_STEP` of them per applied command, so
  releasing ten thousand children of one parent never stalls the event loop
  for long; the leader proposes ticks while some remain.

A candidate is only a hint: it is released if it is still blocked and none of
its parents is live when its turn comes, so looking twice is harmless and a
parent that came back to life (a retry) keeps its children waiting.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Container, Iterable, Iterator, Sequence

import msgpack

__all__ = [
    "PARENT_FAILED",
    "PARENT_RESULTS_MAX_BYTES",
    "PARENT_RESULT_MAX_BYTES",
    "RELEASE_STEP",
    "Dependencies",
    "Verdict",
]

# the reason a blocked job shows when a parent did not succeed
PARENT_FAILED = "parent_failed"
# blocked jobs looked at per applied command; each release costs a few microseconds,
# so a step stays within a few milliseconds of the event loop
RELEASE_STEP = 1024
# a parent's packed result is kept for its children up to this size ...
PARENT_RESULT_MAX_BYTES = 64 * 1024
# ... and one job is handed at most this much of its parents' results together
PARENT_RESULTS_MAX_BYTES = 1 << 20
_SUCCEEDED = "succeeded"
# what a parent with no result leaves its children: packed None
_NONE: bytes = msgpack.packb(None)

# a final parent: (status, packed result, or None when it was too large to keep)
Final = tuple[str, bytes | None]


class Verdict(enum.Enum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    FAIL = "fail"


def kept_result(result: bytes | None) -> bytes | None:
    """What of a parent's packed result its children get: None when it is too large."""
    if not result:
        return _NONE
    return result if len(result) <= PARENT_RESULT_MAX_BYTES else None


class Dependencies:
    __slots__ = ("candidates", "children", "finals")

    def __init__(self) -> None:
        self.children: dict[str, dict[int, str]] = {}
        self.finals: dict[str, Final] = {}
        self.candidates: deque[str] = deque()

    # -- the index ---------------------------------------------------------------------

    def link(self, job_id: str, seq: int, parents: Iterable[str]) -> None:
        """A live job that depends on ``parents`` (submitted, revived or restored)."""
        children = self.children
        for parent in parents:
            kids = children.get(parent)
            if kids is None:
                children[parent] = {seq: job_id}
            else:
                kids[seq] = job_id

    def unlink(self, seq: int, parents: Iterable[str]) -> None:
        """A child left memory; a final parent left with no live child is forgotten."""
        children = self.children
        for parent in parents:
            kids = children.get(parent)
            if kids is None:
                continue
            kids.pop(seq, None)
            if not kids:
                del children[parent]
                self.finals.pop(parent, None)

    def remember(self, parent: str, status: str, result: bytes | None) -> None:
        """A final parent that live children were linked to (its record came in the
        submit); what is already known of it stays."""
        if parent in self.children and parent not in self.finals:
            self.finals[parent] = (status, result)

    def parent_left(self, job_id: str, status: str, result: bytes | None) -> None:
        """A job reached a final status; its live children, in submission order, become
        candidates for release."""
        kids = self.children.get(job_id)
        if not kids:
            return
        self.finals[job_id] = (status, kept_result(result))
        self.candidates.extend([kids[seq] for seq in sorted(kids)])

    def known_final(self, job_id: str) -> bool:
        return job_id in self.finals

    # -- releasing ---------------------------------------------------------------------

    def take(self, budget: int = RELEASE_STEP) -> Iterator[str]:
        """Up to ``budget`` candidates, oldest first; more may be added meanwhile."""
        candidates = self.candidates
        while budget > 0 and candidates:
            budget -= 1
            yield candidates.popleft()

    def verdict(
        self, parents: Sequence[str], rule: str, live: Container[str]
    ) -> tuple[Verdict, str, str]:
        """What becomes of a blocked job with ``parents`` and ``on_parent_failure``
        ``rule``: (verdict, the first parent that did not succeed, its status)."""
        for parent in parents:
            if parent in live:
                return Verdict.WAIT, "", ""
        finals = self.finals
        for parent in parents:
            # a parent known nowhere cannot be vouched for: it counts as not succeeded
            status = finals.get(parent, ("unknown", None))[0]
            if status != _SUCCEEDED:
                if rule == "run":
                    return Verdict.RUN, parent, status
                return (Verdict.SKIP if rule == "skip" else Verdict.FAIL), parent, status
        return Verdict.RUN, "", ""

    def results(self, parents: Sequence[str]) -> bytes:
        """The final parents' results as one packed msgpack map (id -> result), in
        ``parents`` order, within :data:`PARENT_RESULTS_MAX_BYTES`: a result that was too
        large to keep, or would not fit, is left out (its id is absent)."""
        parts: list[bytes] = []
        room = PARENT_RESULTS_MAX_BYTES
        finals = self.finals
        for parent in parents:
            final = finals.get(parent)
            if final is None or final[1] is None:
                continue
            entry: bytes = msgpack.packb(parent) + final[1]
            if len(entry) > room:
                continue
            room -= len(entry)
            parts.append(entry)
        if not parts:
            return b""
        header: bytes = msgpack.Packer().pack_map_header(len(parts))
        return header + b"".join(parts)

    # -- the snapshot ------------------------------------------------------------------

    def final_rows(self) -> list[list[object]]:
        """``finals`` in a canonical order (by id), so equal tables give equal bytes."""
        return [[job_id, *self.finals[job_id]] for job_id in sorted(self.finals)]

    def restore_finals(self, rows: Iterable[Sequence[object]]) -> None:
        """Final parents from a snapshot's rows (:meth:`final_rows`)."""
        for job_id, status, result in rows:
            assert isinstance(job_id, str) and isinstance(status, str)
            assert result is None or isinstance(result, bytes)
            self.finals[job_id] = (status, result)

    def restore_candidates(self, job_ids: Iterable[str]) -> None:
        """Blocked jobs from a snapshot that were still to be looked at, in order."""
        self.candidates.extend(job_ids)
