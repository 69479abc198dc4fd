"""A leader whose disk is full steps aside: ``leader_disk_full`` holds, and a leader that
clings on is caught.

The bug this guards against was found with real processes only
(``tests/cluster/test_disk_full_cluster.py``): once Raft writes were pipelined, a
leader sent its appends and heartbeats ahead of its own write (the Ready's
``early_messages``), even while every write failed for a full disk. Its followers
kept hearing from it, so it stayed leader forever, committed nothing (a leader
counts its own log only once durable) and every write through every master was
refused with 507. The simulator saw nothing: no safety invariant breaks when a
cluster merely stops. ``leader_disk_full`` fills the current leader's disks for
many election timeouts, and :class:`~sim.disk_faults.KeepsCommitting` requires
the two masters that can write to commit again within a few election timeouts.

The mutant puts the bug back: :meth:`Replica.drained` with the guard of commit
cd27ffa (``if self.storage_full is None:`` before sending the early messages)
made always true, so early messages go out while the disk is full. It is caught
at the first fill on every seed tried (0-9).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, cast

import pytest

from actors.raft import replica
from actors.raft.replica import Replica
from sim.harness import run_scenario

# the guard cd27ffa added: a replica sends a leader's early messages only while its disk
# takes writes
GUARD = re.compile(r"if self\.storage_full is None:(\n\s+self\._send\(ready\.early_messages\))")


def clinging_drained() -> Callable[..., Any]:
    """:meth:`Replica.drained` as it was before cd27ffa: early messages always go out.

    Built from the current source with only the guard changed, so the mutant is the
    real method in every other respect; if the guard is rewritten, this fails and
    says so rather than testing something else."""
    source = textwrap.dedent(inspect.getsource(Replica.drained))
    mutated, found = GUARD.subn(r"if True:\1", source)
    assert found == 1, "the disk-full guard of Replica.drained (commit cd27ffa) moved"
    namespace = dict(vars(replica))
    exec(compile(mutated, cast("str", replica.__file__), "exec"), namespace)
    return cast("Callable[..., Any]", namespace["drained"])


@pytest.mark.parametrize("seed", range(1))
def test_leader_disk_full_holds(seed: int) -> None:
    result = run_scenario("leader_disk_full", seed)
    assert result.ok, f"{result.violation}\n" + "\n".join(result.trace[-30:])
    summary = result.summary
    assert summary["fills"] == 3 and summary["acked"], "the leader's disks filled under load"
    # every fill was a checked episode, met in time (the check is not vacuous)
    assert summary["recovered"] == summary["fills"], summary
    assert any("raft log write failed: disk full" in line for line in result.trace)


def test_a_leader_that_heartbeats_while_its_disk_is_full_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Replica, "drained", clinging_drained())
    result = run_scenario("leader_disk_full", 0)
    assert result.violation is not None, "the clinging leader went unnoticed"
    assert result.violation.invariant == "keeps-committing", result.violation
    assert "committed nothing" in result.violation.message, result.violation
