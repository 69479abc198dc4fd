"""Riding through a failover: several addresses, and one call's attempts until a deadline.

A call that meets a dead, frozen or leaderless master is sent again, to the
next address, until ``retry_deadline_s`` has passed. Everything here is
bookkeeping with no I/O and no clock of its own (the clients pass ``now``),
so the same rules drive the sync and the async client over either transport
and are tested without a network:

- *Which failures are worth another try*: the request never reached a
  master (connection refused, a timeout connecting), the answer never came
  back (connection lost, a timeout reading), or the master said 503 (no
  leader now, or it could not confirm the write in time). Every other
  answer, 4xx or 5xx, is final.
- *When to try*: at once on the next address while some address of this
  round is untried, then after an exponential backoff with jitter; never
  before a ``Retry-After`` the master asked for; never past the deadline.
- *What a re-sent write means*: once an attempt may have applied (it was
  sent and no answer came back), a later refusal can be the echo of that
  first success. Submits are safe by construction (every job carries an
  idempotency key: the cluster answers a repeated key with the job it
  already made); for cancel, retry and delete :func:`already_done` reads
  the refusal (and the job) to tell an echo from a real refusal.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from client.errors import PodiumError
from transport.client_wire import AUTO_KEY_PREFIX

__all__ = [
    "DEFAULT_RETRY_DEADLINE_S",
    "Attempts",
    "Settle",
    "already_done",
    "auto_key",
    "retry_after",
    "split_url",
]

NATIVE_SCHEME = "podium://"
HTTP_SCHEMES = ("http://", "https://")
DEFAULT_RETRY_DEADLINE_S = 30.0
# the first backoff once every address has failed, and the longest one
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0
# a Retry-After longer than this is not waited for in full: a failover is over sooner
RETRY_AFTER_MAX_S = 5.0
# statuses a master answers when a later attempt (here or at another master) may do better
RETRIABLE_STATUSES = frozenset({503})
# an address people type without a scheme: a name or an IPv4 or [IPv6] address, a port
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def split_url(text: str) -> tuple[str, list[str]]:
    """``"http://a:1,http://b:2"`` -> ``("http://", ["http://a:1", "http://b:2"])``.

    Addresses are comma-separated; one without a scheme takes the first one's
    (``http://a:1,b:2``), and a first one without a scheme is HTTP
    (``127.0.0.1:8080``, as people type it after seeing ``--http 127.0.0.1:8080``).
    All must speak the same protocol: HTTP(S), or the native ``podium://``
    (whose addresses come back as ``host:port``).
    """
    parts = [p.strip().rstrip("/") for p in text.split(",")]
    if not parts[0]:
        raise ValueError(f"{text!r}: a URL is http://, https:// or podium://host:port")
    if _HOST_PORT.fullmatch(parts[0]):
        parts[0] = "http://" + parts[0]
    first = next((s for s in (NATIVE_SCHEME, *HTTP_SCHEMES) if parts[0].startswith(s)), None)
    if first is None:
        raise ValueError(f"{text!r}: a URL is http://, https:// or podium://host:port")
    urls = []
    for part in parts:
        if not part:
            raise ValueError(f"{text!r}: an empty address between commas")
        if "://" not in part:
            part = first + part
        if part.startswith(NATIVE_SCHEME) != (first == NATIVE_SCHEME) or not part.startswith(
            (NATIVE_SCHEME, *HTTP_SCHEMES)
        ):
            raise ValueError(f"{text!r}: every address must use the same protocol as the first")
        if part == first:
            raise ValueError(f"{text!r}: {part!r} names no host")
        urls.append(part[len(first) :] if first == NATIVE_SCHEME else part)
    return first, urls


def auto_key() -> str:
    """An idempotency key for a job whose caller gave none, so the submit can be re-sent."""
    return f"{AUTO_KEY_PREFIX}{uuid.uuid4().hex}"


def with_key(job: Mapping[str, Any]) -> dict[str, Any]:
    """``job`` with an idempotency key: its own if it has one, else a fresh one."""
    keyed = dict(job)
    if keyed.get("idempotency_key") is None:
        keyed["idempotency_key"] = auto_key()
    return keyed


def retry_after(header: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (the delay form; a date is ignored)."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S) if seconds == seconds else None


@attrs.frozen
class Settle:
    """How to read a refusal of a re-sent ``kind`` of write to job ``job_id``."""

    kind: Literal["cancel", "retry", "delete"]
    job_id: str

    def needs_job(self, error: PodiumError) -> bool:
        """Whether :func:`already_done` needs the job's record to judge ``error``."""
        return self.kind != "delete" and error.status == 409


def already_done(settle: Settle, error: PodiumError, job: Mapping[str, Any] | None) -> Any:
    """The answer a re-sent write should have given, when ``error`` (its refusal) shows an
    earlier attempt of it applied; None when the refusal stands.

    A cancel refused because the job is cancelled, a retry refused because the
    job is live again, a delete refused because the job is gone: each is the
    state the first attempt was asked to reach. (It may also have been reached
    by someone else in between; the caller asked for that state and has it.)
    """
    if settle.kind == "delete":
        return {"deleted": 1} if error.status == 404 else None
    if error.status != 409 or job is None:
        return None
    status = job.get("status")
    if settle.kind == "cancel" and status == "cancelled":
        return {"id": settle.job_id, "status": status}
    if settle.kind == "retry" and status not in ("dead", "failed"):
        return {"id": settle.job_id, "status": status}
    return None


@attrs.define
class Attempts:
    """One call's attempts: which address each goes to, how long it may take, the wait
    before the next one, and when to give up (see the module doc)."""

    addresses: int
    first: int
    start: float
    deadline_s: float
    timeout_s: float
    rng: random.Random
    failures: int = 0
    # an attempt was sent and never answered: it may have applied
    unsure: bool = False

    @property
    def index(self) -> int:
        """The address the next attempt goes to: the next one after each failure."""
        return (self.first + self.failures) % self.addresses

    def timeout(self, now: float) -> float:
        """How long the next attempt may take: its own timeout, within the deadline."""
        return max(min(self.timeout_s, self.start + self.deadline_s - now), 0.001)

    def failed(
        self, error: PodiumError, now: float, *, sent: bool, wait_at_least: float | None = None
    ) -> float:
        """Count a failed attempt (``sent``: it may have reached the master) and return how
        long to wait before the next; raise the error, with the attempts told, when the
        next would start past the deadline."""
        self.failures += 1
        self.unsure = self.unsure or sent
        wait = 0.0
        if self.failures % self.addresses == 0:
            rounds = self.failures // self.addresses
            backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (rounds - 1))
            wait = backoff * self.rng.uniform(0.5, 1.0)
        wait = max(wait, wait_at_least or 0.0)
        if now + wait >= self.start + self.deadline_s:
            raise PodiumError(
                error.status,
                f"{error.message} (gave up after {self.failures} attempt"
                f"{'' if self.failures == 1 else 's'} in {now - self.start:.1f} s: "
                f"retry_deadline_s is {self.deadline_s:g})"
                + ("; an attempt may have applied" if self.unsure else ""),
            )
        return wait
