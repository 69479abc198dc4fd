"""What the leader adds to a submit whose jobs depend on others, before proposing it.

Two things only it can do: give a batch's ``"ref:<name>"`` entries the ids it
just made for those siblings (ids are made here, not by the client or the
gateway), and say what it knows of parents that are no longer live. The job
state machine must answer the same on every master without reading a
history, so a parent found final in this master's history goes into the
command with its status and result (as a retry carries the record it
revives). A parent the leader saw live but that finishes before the submit
applies makes the submit answer :class:`~transport.parents.ParentsMissing`;
the leader then looks again (:data:`LOOKUPS` times at most).

A retry revives a final job whose parents' outcomes left memory with it, so
the leader writes what its history holds of them into the retry as well
(:func:`retried_parents`): the revived run gets its ``ctx.parents`` again.

A parent id that is nowhere, live or final, is the client's mistake: the
submit is refused (:class:`~transport.cluster.Rejected`, a 400) and makes
nothing, whatever else the batch held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs

from actors.scheduler.dependencies import kept_result
from actors.scheduler.state import JobStateMachine
from runtime.storage.history import History
from transport.cluster import JobSpec, Rejected
from transport.commands import NewJob
from transport.job_options import REF_PREFIX
from transport.parents import FinalParent
from transport.records import JobRecord

__all__ = [
    "CHILDREN_SHOWN",
    "LOOKUPS",
    "Linked",
    "children_view",
    "has_parents",
    "link",
    "retried_parents",
]

# submits proposed for one request whose parents kept finishing under it, before giving up
LOOKUPS = 5
# children a job's view lists (the first ones, in submission order)
CHILDREN_SHOWN = 1000
# unknown ids named in a refusal (a batch may name thousands)
_NAMED = 5

# the jobs with their refs resolved, and what the command says of final parents
Linked = tuple[tuple[NewJob, ...], tuple[FinalParent, ...]]


def children_view(live: Mapping[int, str], final: Sequence[tuple[int, str]]) -> list[str]:
    """A job's children, live (seq -> id, from memory) and final (from the history), in
    submission order, the first :data:`CHILDREN_SHOWN`."""
    merged = dict(final)
    merged.update(live)
    return [merged[seq] for seq in sorted(merged)[:CHILDREN_SHOWN]]


def has_parents(specs: Sequence[JobSpec]) -> bool:
    return any(s.options is not None and s.options.depends_on for s in specs)


def _named(
    specs: Sequence[JobSpec],
    found: Mapping[str, JobRecord],
    known_key: Callable[[str], tuple[str, str] | None],
) -> dict[str, str]:
    """ref -> id of the jobs this submit will not make, because their idempotency key
    names a job already (in the history, or in the live table)."""
    named: dict[str, str] = {}
    for spec in specs:
        key = spec.idempotency_key
        if spec.ref is None or key is None:
            continue
        record = found.get(key)
        if record is not None:
            named[spec.ref] = record.id
        elif (live := known_key(key)) is not None:
            named[spec.ref] = live[0]
    return named


def _resolved(jobs: Sequence[NewJob], refs: Mapping[str, str]) -> tuple[NewJob, ...] | Rejected:
    out: list[NewJob] = []
    for job in jobs:
        options = job.options
        if options is None or not any(p.startswith(REF_PREFIX) for p in options.depends_on):
            out.append(job)
            continue
        ids: list[str] = []
        for parent in options.depends_on:
            if parent.startswith(REF_PREFIX):
                target = refs.get(parent[len(REF_PREFIX) :])
                if target is None:
                    return Rejected(f"depends_on names {parent!r}, but no job in the batch has it")
                parent = target
            ids.append(parent)
        depends_on = tuple(dict.fromkeys(ids))
        out.append(attrs.evolve(job, options=attrs.evolve(options, depends_on=depends_on)))
    return tuple(out)


async def link(
    specs: Sequence[JobSpec],
    jobs: Sequence[NewJob],
    found: Mapping[str, JobRecord],
    table: JobStateMachine,
    history: History,
) -> Linked | Rejected:
    """``jobs`` (made from the ``specs`` that ``found``, the history's records by
    idempotency key, did not answer) with refs resolved, and the final parents they name.
    ``specs`` is the whole request: a ref may name a sibling whose key was found."""
    refs = _named(specs, found, table.known_key)
    made = {job.id for job in jobs}
    for spec, job in zip((s for s in specs if s.idempotency_key not in found), jobs, strict=True):
        if spec.ref is not None:
            refs.setdefault(spec.ref, job.id)
    resolved = _resolved(jobs, refs)
    if isinstance(resolved, Rejected):
        return resolved
    wanted = sorted(
        {
            parent
            for job in resolved
            if job.options is not None
            for parent in job.options.depends_on
            if parent not in made and table.job(parent) is None
        }
    )
    if not wanted:
        return resolved, ()
    records = await history.get_many(wanted)
    unknown = [
        p
        for p in wanted
        if p not in records and table.job(p) is None and not table.deps.known_final(p)
    ]
    if unknown:
        shown = ", ".join(unknown[:_NAMED])
        more = f" and {len(unknown) - _NAMED} more" if len(unknown) > _NAMED else ""
        return Rejected(f"depends_on names unknown job ids: {shown}{more}")
    return resolved, _finals(wanted, records)


async def retried_parents(
    record: JobRecord | None, table: JobStateMachine, history: History
) -> tuple[FinalParent, ...]:
    """What the history says of the parents of ``record``, a job about to be retried
    that are not live: it left memory with its parents' outcomes, and its run needs their
    results again. A parent the history no longer holds is left out (its result too)."""
    options = record.options if record is not None else None
    if options is None or not options.depends_on:
        return ()
    wanted = [p for p in options.depends_on if table.job(p) is None]
    return _finals(wanted, await history.get_many(wanted)) if wanted else ()


def _finals(wanted: Sequence[str], records: Mapping[str, JobRecord]) -> tuple[FinalParent, ...]:
    """The records found of ``wanted`` final parents, in that order, as a command says."""
    return tuple(
        FinalParent(r.id, r.status, kept_result(r.result))
        for p in wanted
        if (r := records.get(p)) is not None
    )
