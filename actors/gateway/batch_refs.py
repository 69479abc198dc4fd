"""A batch's jobs naming each other: ``"ref": "resize"`` on one, ``"depends_on":
["ref:resize"]`` on another, so a chain or a fan-out/fan-in is one atomic request.

Checked here, before anything reaches the leader: every ref is given to one
job only, every ``ref:`` entry names a ref of the batch, and the references
make no cycle (a job cannot wait for itself, directly or through others).
The leader replaces each ``ref:`` entry with the id it makes for that job
(:mod:`actors.master.parents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from graphlib import CycleError, TopologicalSorter

from actors.gateway.validation import BadRequest, JobRequest
from transport.job_options import REF_PREFIX

__all__ = ["check_refs"]


def check_refs(jobs: Sequence[JobRequest]) -> None:
    """Raise :class:`BadRequest` naming the job and field at fault."""
    owner: dict[str, int] = {}
    for n, job in enumerate(jobs):
        if job.ref is None:
            continue
        if job.ref in owner:
            raise BadRequest(
                f"jobs[{n}]: ref {job.ref!r} is already the ref of jobs[{owner[job.ref]}]; "
                "each job's ref must be its own"
            )
        owner[job.ref] = n
    graph: TopologicalSorter[int] = TopologicalSorter()
    for n, job in enumerate(jobs):
        parents = job.options.depends_on if job.options is not None else ()
        siblings = []
        for parent in parents:
            if not parent.startswith(REF_PREFIX):
                continue
            name = parent[len(REF_PREFIX) :]
            if name not in owner:
                raise BadRequest(
                    f"jobs[{n}]: depends_on names {parent!r}, but no job in the batch has "
                    f'"ref": {name!r}'
                )
            siblings.append(owner[name])
        graph.add(n, *siblings)
    try:
        graph.prepare()
    except CycleError as exc:
        cycle = " -> ".join(_name(jobs, n) for n in exc.args[1])
        raise BadRequest(f"depends_on makes a cycle: {cycle}") from None


def _name(jobs: Sequence[JobRequest], n: int) -> str:
    ref = jobs[n].ref
    return f"jobs[{n}] ({ref})" if ref is not None else f"jobs[{n}]"
