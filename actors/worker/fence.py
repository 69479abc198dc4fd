"""Which assignments a worker may still start: at most one execution per attempt.

An assignment can reach a worker twice, or late. A leader frozen by SIGSTOP
(or a long pause) wakes up with the view it had, and the callback of an
assignment it proposed before freezing fires once a newer leader commits
the entry, so it sends the worker an ``AssignJobs`` that is stale: the
attempt may already have run here and been reported, or have been expired
and handed to someone else. A network may also deliver a message twice.

Two rules stop both, and neither needs a clock of its own:

- **terms**: every ``AssignJobs`` carries the term of the leader that
  proposed it, and ``Welcome``/``HeartbeatAck`` the term of the leader that
  answered; the worker keeps the highest term it has seen and refuses an
  assignment from an older one. A deposed leader's assignments are
  therefore refused as soon as the worker has heard from its successor,
  which it must have, to hold a lease.
- **registrations**: a leader that declares a worker lost gives its jobs to
  others; should the worker register again, an assignment made before that
  (committed at a lower log index than the registration, and delayed or
  duplicated on the way) is for a life of the worker that has ended. Each
  ``AssignJobs`` carries its entry's index and a ``Welcome`` that registered
  the worker carries the registration's, and the worker refuses the older.
- **memory**: an attempt that started here (and was reported, cancelled or stopped) is
  remembered for ``keep_s`` (the worker uses two leases), so a replay within
  one term is never run again. Entries are kept in finishing order and pruned
  from the oldest, so memory follows the jobs of the last few leases.

A refused assignment is like one the network lost: the leader's table says
the attempt runs here, the worker's heartbeats do not list it, and its lease
runs out and sends it back to the queue.
"""

from __future__ import annotations

from collections import OrderedDict

from transport.cluster import RunningJob

__all__ = ["AttemptFence"]


class AttemptFence:
    def __init__(self) -> None:
        # the highest leader term heard from (0: none yet)
        self.term = 0
        # the log index of this worker's latest registration (0: none known)
        self.registered = 0
        # attempts that ran here -> when they stopped being ours, oldest first
        self._done: OrderedDict[RunningJob, float] = OrderedDict()

    def saw_term(self, term: int) -> None:
        """A leader of ``term`` answered or assigned: older leaders are deposed."""
        self.term = max(self.term, term)

    def saw_registration(self, index: int) -> None:
        """A leader registered this worker anew at log ``index``."""
        self.registered = max(self.registered, index)

    def refusal(self, term: int, index: int = 0) -> str | None:
        """Why an assignment from a leader of ``term``, committed at ``index``, may not
        run (None: it may): a newer leader has been heard from (``"stale term"``), or it
        was made before this worker's latest registration (``"stale registration"``)."""
        if term < self.term:
            return "stale term"
        if index and index < self.registered:
            return "stale registration"
        self.term = term
        return None

    def ran(self, key: RunningJob) -> bool:
        """Whether this attempt already ran here (within the memory's span)."""
        return key in self._done

    def finished(self, key: RunningJob, now: float, keep_s: float) -> None:
        """``key`` is no longer running here; remember it for ``keep_s``."""
        done = self._done
        done[key] = now
        done.move_to_end(key)
        horizon = now - keep_s
        while done:
            oldest, at = next(iter(done.items()))
            if at >= horizon:
                break
            del done[oldest]

    def __len__(self) -> int:
        return len(self._done)
