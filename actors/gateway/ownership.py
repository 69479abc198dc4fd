"""Whose jobs a caller may see and touch, and the audit lines of what they did to them.

With auth on, every job records who submitted it (``owner``, in its
:class:`~transport.job_options.JobOptions`, so it travels through the log, the
snapshot and the history untouched); a schedule's jobs belong to whoever defined
the schedule, since its job template carries the definer as owner. A ``user``
sees, cancels and lists only their own jobs: another's job answers 404, exactly
as a job that does not exist, so ids do not leak. An ``admin`` sees all, and so
does the read-only ``worker`` role (monitoring beside the workers, which submits
nothing of its own). With auth off nobody is anybody: no owner is recorded and
nothing is hidden.

Schedules follow the same rule: each records its definer as ``owner``; a
``user`` lists, shows, pauses, resumes and deletes only their own, and another's
answers 404 as a schedule that does not exist. Names stay one namespace for the
cluster (a job's ``schedule`` field and bulk cancels by schedule name mean one
schedule), so a ``user`` defining a name another holds gets a bare 409 that says
the name is taken and shows nothing of the holder's schedule.

The checks run in the gateway against the job's view (one read the route makes
anyway, or one more before a change), never in the scheduling path.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from actors.gateway.auth import Authenticator, Principal, audit
from transport.cluster import JobSpec
from transport.job_options import JobOptions

__all__ = ["Ownership", "audited"]

# the role that sees only its own jobs
RESTRICTED_ROLE = "user"


@attrs.frozen
class Ownership:
    auth: Authenticator

    def owner_of(self, who: Principal) -> str | None:
        """The owner recorded on what ``who`` submits (None with auth off)."""
        return who.name if self.auth.enabled else None

    def scope(self, who: Principal) -> str | None:
        """The only owner whose jobs ``who`` may see, or None when ``who`` sees all."""
        return who.name if self.auth.enabled and who.role == RESTRICTED_ROLE else None

    def stamp(self, spec: JobSpec, who: Principal) -> JobSpec:
        """``spec`` with ``who`` as its owner (unchanged with auth off). Its idempotency
        and unique keys become the owner's own (``owner/key``): two users' keys never
        meet, so neither a 409 nor a deduplicated answer names another user's job."""
        owner = self.owner_of(who)
        if owner is None:
            return spec
        options = spec.options or JobOptions()
        unique = options.unique_key
        return attrs.evolve(
            spec,
            idempotency_key=None
            if spec.idempotency_key is None
            else f"{owner}/{spec.idempotency_key}",
            options=attrs.evolve(
                options, owner=owner, unique_key=None if unique is None else f"{owner}/{unique}"
            ),
        )

    def sees(self, who: Principal, view: bytes) -> bool:
        """Whether ``who`` may see the job or schedule whose JSON view is ``view``."""
        scope = self.scope(who)
        return scope is None or json.loads(view).get("owner") == scope

    def visible_schedules(self, who: Principal, view: bytes) -> bytes:
        """A schedule listing (``{"schedules": [...]}``) with only what ``who`` may see."""
        scope = self.scope(who)
        if scope is None:
            return view
        body: dict[str, Any] = json.loads(view)
        kept = [entry for entry in body["schedules"] if entry.get("owner") == scope]
        return json.dumps({**body, "schedules": kept}).encode()


def audited(who: Principal, event: str, target: dict[str, Any], outcome: str) -> None:
    """One ``podium.audit`` line for a change to jobs, schedules or job types: who, what, on
    which, how it ended."""
    audit.info(
        f"{event} {outcome}",
        extra={"event": event, "user": who.name, "role": who.role, "outcome": outcome, **target},
    )
