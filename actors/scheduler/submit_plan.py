"""What a submit does with each job it names, decided before any job is made.

A job of a submit is *answered* by the job its idempotency key already names,
*stood in for* by the job holding its unique key (live before the submit, or
made earlier in the same one), or *made*. A sibling may name a job that is
stood in for, before or after it in the batch (refs point either way), so
the whole map of stand-ins is built first and every made job's
``depends_on`` is rewritten from it: a child then waits for the holder, in
whatever order the batch lists them.

One rewrite is left out: a holder made in the same submit may itself wait
(through siblings) on a child of the job it stands in for. Following that
stand-in would make the jobs wait on each other for ever, so the child keeps
the name of the job that was not made and is decided as for a parent known
nowhere (its ``on_parent_failure`` rule), as the batch literally asked.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise

import attrs

from transport.commands import NewJob

__all__ = ["Fate", "SubmitPlan", "plan"]


class Fate(enum.Enum):
    MADE = "made"
    # answered with the job its idempotency key names
    ANSWERED = "answered"
    # not made: the job holding its unique key stands in for it
    STOOD_IN = "stood_in"


@attrs.frozen
class SubmitPlan:
    # per job of the submit, in order
    fates: tuple[Fate, ...]
    # id of a job stood in for -> id of the job holding its unique key
    stand_ins: Mapping[str, str]
    # id of a made job -> its parents with stand-ins resolved (only where they changed)
    depends_on: Mapping[str, tuple[str, ...]]


def plan(
    jobs: Sequence[NewJob],
    key_known: Callable[[str], bool],
    unique_holder: Callable[[str], str | None],
) -> SubmitPlan:
    """The fate of each of ``jobs``, given whether an idempotency key already names a job
    and which live job holds a unique key; jobs made earlier in the batch count too."""
    if all(spec.idempotency_key is None and spec.options is None for spec in jobs):
        return SubmitPlan((Fate.MADE,) * len(jobs), {}, {})  # most submits: every job made
    fates: list[Fate] = []
    stand_ins: dict[str, str] = {}
    keys: set[str] = set()
    uniques: dict[str, str] = {}
    for spec in jobs:
        key = spec.idempotency_key
        if key is not None and (key in keys or key_known(key)):
            fates.append(Fate.ANSWERED)
            continue
        unique = spec.options.unique_key if spec.options is not None else None
        if unique is not None:
            holder = unique_holder(unique) or uniques.get(unique)
            if holder is not None:
                fates.append(Fate.STOOD_IN)
                stand_ins[spec.id] = holder
                continue
            uniques[unique] = spec.id
        if key is not None:
            keys.add(key)
        fates.append(Fate.MADE)
    named = {
        spec.id: spec.options.depends_on
        for spec, fate in zip(jobs, fates, strict=True)
        if fate is Fate.MADE and spec.options is not None and spec.options.depends_on
    }
    depends_on = {
        child: _resolved(parents, stand_ins, ())
        for child, parents in named.items()
        if any(parent in stand_ins for parent in parents)
    }
    # only a holder made here can wait on the jobs made with it
    made_holders = set(uniques.values())
    if depends_on and any(holder in made_holders for holder in stand_ins.values()):
        _break_cycles(named, depends_on, stand_ins)
    return SubmitPlan(tuple(fates), stand_ins, depends_on)


def _resolved(
    parents: Sequence[str], stand_ins: Mapping[str, str], kept: Sequence[str]
) -> tuple[str, ...]:
    """``parents`` with each stood-in job named by its holder, except those in ``kept``."""
    return tuple(dict.fromkeys(p if p in kept else stand_ins.get(p, p) for p in parents))


def _break_cycles(
    named: Mapping[str, tuple[str, ...]],
    depends_on: dict[str, tuple[str, ...]],
    stand_ins: Mapping[str, str],
) -> None:
    """Undo the stand-ins (in ``depends_on``) that close a cycle among the made jobs."""
    kept: dict[str, list[str]] = {}
    while True:
        graph = {
            child: [p for p in depends_on.get(child, parents) if p in named]
            for child, parents in named.items()
        }
        try:
            TopologicalSorter(graph).prepare()
            return
        except CycleError as exc:
            cycle: list[str] = exc.args[1]
        undone = False
        # each node is a parent of the next
        for parent, child in pairwise(cycle):
            through = [p for p in named[child] if stand_ins.get(p) == parent]
            if through and parent not in named[child]:
                kept.setdefault(child, []).extend(through)
                depends_on[child] = _resolved(named[child], stand_ins, kept[child])
                undone = True
        if not undone:
            return  # a cycle the batch named itself (the gateway refuses those)
