"""The Python client: ``Client(url).submit("noop")``, ``.get(id)``, ``.get_many(ids)``,
``.wait(ids)``, ``.list()``, ``.delete(id)``, ``.purge(status="dead")``, and schedules:
``.add_schedule(name, job_body("noop"), cron="0 3 * * *")``, ``.list_schedules()``,
``.get_schedule(name)``, ``.pause_schedule(name)``, ``.resume_schedule(name)``,
``.delete_schedule(name)``.

Each API call is described once, as a :class:`Call`: the HTTP request
(method, path, query, body) and the same request as an operation of the
native protocol. The URL picks the transport: ``http(s)://host:port[,...]``
runs calls on httpx, ``podium://host:port[,host:port...]`` on one native
connection to any of those masters (:mod:`client.native`: many calls in
flight). :class:`Client` and :class:`AsyncClient` run the same calls either
way, so neither the two clients nor the two transports can drift apart, and
every method returns the same value over both. Errors come back as
:class:`PodiumError` with the HTTP status and the server's message.

Failover: a call that finds no master, loses its answer, or gets a 503 is
sent again, to the next address, until ``retry_deadline_s`` (the rules are
:mod:`client.failover`'s). Every submitted job gets an idempotency key when
the caller gave none, so a submit sent twice still makes one job.
"""

from __future__ import annotations

import contextlib
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import attrs
import httpx

from client.errors import PodiumError
from client.events import NATIVE_REFUSAL, EventReader, event_params
from client.failover import (
    DEFAULT_RETRY_DEADLINE_S,
    RETRIABLE_STATUSES,
    Attempts,
    Settle,
    already_done,
    retry_after,
    split_url,
    with_key,
)
from client.https import ca_path, untrusted, verify_context
from client.logs import astream_text, logs_request, read_text, stream_text
from client.native import SCHEME, LoopThread, NativeClient, TlsFiles
from client.responses import error_of
from transport import schedule_requests as schedule_ops
from transport.client_wire import (
    CancelOp,
    ClusterOp,
    DeleteOp,
    GetManyOp,
    GetOp,
    ListOp,
    PurgeOp,
    RetryOp,
    StatsOp,
    SubmitBatchOp,
    SubmitOp,
    WorkersOp,
    resent,
)
from transport.codec import Message, packer
from transport.control_wire import (
    CancelManyOp,
    ClearLimitOp,
    LimitsOp,
    PauseTypeOp,
    ResumeTypeOp,
    SetLimitOp,
)

__all__ = [
    "FINAL",
    "AsyncClient",
    "Call",
    "Client",
    "PodiumError",
    "TlsFiles",
    "When",
    "job_body",
    "schedule_body",
]

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_S = 10.0
FINAL = frozenset({"succeeded", "failed", "dead", "cancelled"})
# ids one POST /api/v1/jobs/status takes; a longer wait asks in parts of this size
STATUS_IDS_MAX = 10_000
# a wait asks first after this long, then half as long again each round, up to its poll_s:
# a job that takes milliseconds is seen at once, a long one costs a request every poll_s
FIRST_POLL_S = 0.02
Job = dict[str, Any]
# a time the server parses: epoch seconds, or an ISO 8601 string (a bare date is midnight UTC);
# strings go through untouched so the server's one parser decides, not a second copy here
When = float | str
# the clients have a method named ``list``, which hides the builtin in their bodies
Jobs = list[Job]


@attrs.frozen
class Call:
    """One API call: the HTTP request, and ``op``, the same call in the native protocol
    (None: HTTP only). ``repeatable``: safe to send again as it is when a connection is
    lost with it in flight (a read, or a submit: its jobs all carry idempotency keys).
    ``settle``: how a refusal of it, sent again, may show the first send applied."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: Any = None
    op: Message | None = None
    repeatable: bool = False
    settle: Settle | None = None


def job_body(
    job_type: str,
    payload: Mapping[str, Any] | None = None,
    *,
    priority: int | None = None,
    max_retries: int | None = None,
    timeout_s: float | None = None,
    delay_s: float | None = None,
    run_at: float | str | None = None,
    idempotency_key: str | None = None,
    unique_key: str | None = None,
    retry: Mapping[str, Any] | None = None,
    depends_on: Sequence[str] | None = None,
    on_parent_failure: str | None = None,
    ref: str | None = None,
) -> dict[str, Any]:
    """One job as the API takes it (fields left out get the server's defaults).

    ``unique_key``: at most one live job holds it (a second submit returns that job,
    ``"deduplicated": True``); ``retry``: the job's own policy, ``{"max_retries",
    "base_s", "multiplier", "cap_s", "jitter", "no_retry_exit_codes"}``.
    ``depends_on``: ids of jobs this one waits for (in a batch, also ``"ref:<name>"`` of
    a sibling whose ``ref`` is ``<name>``); ``on_parent_failure``: ``"fail"`` (the
    default), ``"skip"`` or ``"run"``, what it does when a parent does not succeed."""
    body: dict[str, Any] = {"type": job_type}
    optional = {
        "payload": payload,
        "priority": priority,
        "max_retries": max_retries,
        "timeout_s": timeout_s,
        "delay_s": delay_s,
        "run_at": run_at,
        "idempotency_key": idempotency_key,
        "unique_key": unique_key,
        "retry": None if retry is None else dict(retry),
        "depends_on": None if depends_on is None else list(depends_on),
        "on_parent_failure": on_parent_failure,
        "ref": ref,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def schedule_body(
    name: str,
    job: Mapping[str, Any],
    *,
    cron: str | None = None,
    every_s: float | None = None,
    timezone: str | None = None,
    catch_up: str | None = None,
    paused: bool | None = None,
) -> dict[str, Any]:
    """One schedule as the API takes it: ``job`` (e.g. from :func:`job_body`) made at
    every tick of ``cron`` or ``every_s``; fields left out get the server's defaults."""
    fields = {"name": name, "job": dict(job), "cron": cron, "every_s": every_s,
              "timezone": timezone, "catch_up": catch_up, "paused": paused}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


def _segment(text: str) -> str:
    """``text`` as one path segment: a job type may hold ``#``, ``?`` or ``/``."""
    return quote(text, safe="")


class _Calls:
    """The API, as calls; both clients turn each into a request."""

    @staticmethod
    def submit(body: Mapping[str, Any]) -> Call:
        job = with_key(body)
        # a key made here names no job yet: its first sending needs no lookup
        op = SubmitOp(packer().pack(job), fresh=body.get("idempotency_key") is None)
        return Call("POST", "/api/v1/jobs", body=job, op=op, repeatable=True)

    @staticmethod
    def submit_batch(jobs: Iterable[Mapping[str, Any]]) -> Call:
        batch = {"jobs": [with_key(j) for j in jobs]}
        op = SubmitBatchOp(packer().pack(batch))
        return Call("POST", "/api/v1/jobs/batch", body=batch, op=op, repeatable=True)

    @staticmethod
    def get(job_id: str, stale: bool) -> Call:
        params = {"stale": "true"} if stale else None
        op = GetOp(job_id, stale)
        return Call("GET", f"/api/v1/jobs/{job_id}", params, op=op, repeatable=True)

    @staticmethod
    def get_many(job_ids: Sequence[str], stale: bool) -> Call:
        params = {"stale": "true"} if stale else None
        op = GetManyOp(tuple(job_ids), stale)
        body = {"ids": list(job_ids)}
        return Call("POST", "/api/v1/jobs/status", params, body, op=op, repeatable=True)

    @staticmethod
    def list(
        status: str | None,
        job_type: str | None,
        limit: int,
        cursor: str | None,
        order: str,
        since: When | None,
        until: When | None,
    ) -> Call:
        # order is always sent (the server's default was once oldest first), so a page never
        # means something else on a server of another version
        query = {
            "status": status,
            "type": job_type,
            "limit": limit,
            "cursor": cursor,
            "order": order,
            "since": since,
            "until": until,
        }
        # times travel as the query string would carry them, for the server's one parser
        op = ListOp(
            status,
            job_type,
            limit,
            cursor,
            order,
            None if since is None else str(since),
            None if until is None else str(until),
            False,
        )
        params = {k: v for k, v in query.items() if v is not None}
        return Call("GET", "/api/v1/jobs", params, op=op, repeatable=True)

    @staticmethod
    def cancel(job_id: str) -> Call:
        settle = Settle("cancel", job_id)
        return Call("POST", f"/api/v1/jobs/{job_id}/cancel", op=CancelOp(job_id), settle=settle)

    @staticmethod
    def retry(job_id: str) -> Call:
        settle = Settle("retry", job_id)
        return Call("POST", f"/api/v1/jobs/{job_id}/retry", op=RetryOp(job_id), settle=settle)

    @staticmethod
    def delete(job_id: str) -> Call:
        settle = Settle("delete", job_id)
        return Call("DELETE", f"/api/v1/jobs/{job_id}", op=DeleteOp(job_id), settle=settle)

    @staticmethod
    def purge(
        status: str | Sequence[str] | None, job_type: str | None, before: When | None
    ) -> Call:
        # a str is a Sequence too; the API takes one status as a string or several as a list
        statuses = status if status is None or isinstance(status, str) else list(status)
        fields = {"status": statuses, "type": job_type, "before": before}
        body = {k: v for k, v in fields.items() if v is not None}
        return Call("POST", "/api/v1/jobs/purge", body=body, op=PurgeOp(packer().pack(body)))

    @staticmethod
    def stats() -> Call:
        return Call("GET", "/api/v1/stats", op=StatsOp(False), repeatable=True)

    @staticmethod
    def workers() -> Call:
        return Call("GET", "/api/v1/workers", op=WorkersOp(False), repeatable=True)

    @staticmethod
    def cluster() -> Call:
        return Call("GET", "/api/v1/cluster", op=ClusterOp(), repeatable=True)

    @staticmethod
    def add_schedule(body: Mapping[str, Any]) -> Call:
        # the same definition sent again is answered 200 with the schedule: safe to repeat
        op = schedule_ops.ScheduleAddOp(packer().pack(body))
        return Call("POST", "/api/v1/schedules", body=body, op=op, repeatable=True)

    @staticmethod
    def list_schedules() -> Call:
        return Call(
            "GET", "/api/v1/schedules", op=schedule_ops.ScheduleListOp(False), repeatable=True
        )

    @staticmethod
    def get_schedule(name: str) -> Call:
        op = schedule_ops.ScheduleGetOp(name, False)
        return Call("GET", f"/api/v1/schedules/{name}", op=op, repeatable=True)

    @staticmethod
    def delete_schedule(name: str) -> Call:
        # a delete sent again finds the schedule gone (404): what the first one did
        settle = Settle("delete", name)
        op = schedule_ops.ScheduleDeleteOp(name)
        return Call("DELETE", f"/api/v1/schedules/{name}", op=op, settle=settle)

    @staticmethod
    def pause_schedule(name: str, paused: bool) -> Call:
        op = schedule_ops.SchedulePauseOp(name) if paused else schedule_ops.ScheduleResumeOp(name)
        path = f"/api/v1/schedules/{name}/{'pause' if paused else 'resume'}"
        return Call("POST", path, op=op, repeatable=True)

    @staticmethod
    def set_limit(
        job_type: str, rate_per_s: float | None, burst: float | None, max_running: int | None
    ) -> Call:
        fields = {"rate_per_s": rate_per_s, "burst": burst, "max_running": max_running}
        body = {k: v for k, v in fields.items() if v is not None}
        op = SetLimitOp(job_type, packer().pack(body))
        # setting the same limit again changes nothing (the bucket keeps its tokens)
        path = f"/api/v1/limits/{_segment(job_type)}"
        return Call("PUT", path, body=body, op=op, repeatable=True)

    @staticmethod
    def clear_limit(job_type: str) -> Call:
        return Call("DELETE", f"/api/v1/limits/{_segment(job_type)}", op=ClearLimitOp(job_type))

    @staticmethod
    def limits() -> Call:
        return Call("GET", "/api/v1/limits", op=LimitsOp(False), repeatable=True)

    @staticmethod
    def pause_type(job_type: str, paused: bool) -> Call:
        action = "pause" if paused else "resume"
        op = PauseTypeOp(job_type) if paused else ResumeTypeOp(job_type)
        return Call("POST", f"/api/v1/types/{_segment(job_type)}/{action}", op=op, repeatable=True)

    @staticmethod
    def cancel_many(
        ids: Sequence[str] | None,
        job_type: str | None,
        status: str | Sequence[str] | None,
        schedule: str | None,
    ) -> Call:
        statuses = status if status is None or isinstance(status, str) else list(status)
        fields = {
            "ids": None if ids is None else list(ids),
            "type": job_type,
            "status": statuses,
            "schedule": schedule,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        # a filter, or ids: sent again it cancels nothing twice (the count is the last's)
        op = CancelManyOp(packer().pack(body))
        return Call("POST", "/api/v1/jobs/cancel", body=body, op=op, repeatable=True)

    @staticmethod
    def login(username: str, password: str) -> Call:
        # a token comes from the HTTP API: the native protocol takes one, it does not issue one
        return Call("POST", "/auth/login", body={"username": username, "password": password})


class _Waiting:
    """The bookkeeping of one ``wait``, shared by both clients: which ids are still not
    final, what to ask next (one ``POST /api/v1/jobs/status`` per 10,000 of them), and
    how long to sleep before asking again."""

    def __init__(self, job_ids: Iterable[str], poll_s: float) -> None:
        self.pending = list(dict.fromkeys(job_ids))
        self.total = len(self.pending)
        self.done: dict[str, Job] = {}
        self.poll_s = poll_s
        self.delay = min(FIRST_POLL_S, poll_s)

    def parts(self) -> list[list[str]]:
        ids = self.pending
        return [ids[n : n + STATUS_IDS_MAX] for n in range(0, len(ids), STATUS_IDS_MAX)]

    def take(self, answer: Mapping[str, Any]) -> None:
        """Keep the final jobs of one answer; an id of no job ends the wait (as ``get``
        would): it will never be final."""
        if answer["missing"]:
            gone = answer["missing"]
            raise PodiumError(404, f"job {gone[0]!r} not found" + (
                f" (nor {len(gone) - 1} other(s))" if len(gone) > 1 else ""))  # fmt: skip
        for job in answer["jobs"]:
            if job["status"] in FINAL:
                self.done[job["id"]] = job

    def late(self, timeout: float | None) -> str:
        """What a wait that ran out of time says."""
        return f"{len(self.pending)} of {self.total} jobs not final in {timeout} s"

    def next_round(self) -> float:
        """Drop what is final; the seconds to sleep before the next round."""
        self.pending = [i for i in self.pending if i not in self.done]
        delay = self.delay
        self.delay = min(self.delay * 1.5, self.poll_s)
        return delay


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise error_of(response)
    try:
        return response.json()
    except ValueError:
        return None


class _Retry(Exception):
    """An attempt failed in a way another attempt may not: ``sent`` if it may have
    reached a master, ``after`` the least wait the master asked for."""

    def __init__(self, error: PodiumError, *, sent: bool, after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.sent = sent
        self.after = after


# httpx errors raised before a byte of the request left: nothing can have applied
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# httpx errors that another attempt cannot cure
_HOPELESS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)


def _stream_refused(response: httpx.Response) -> None:
    """A stream answered other than 200: another master may serve it (a 503), or not."""
    if response.status_code in RETRIABLE_STATUSES:
        raise _Retry(error_of(response), sent=True)
    raise error_of(response)


class _Base:
    def __init__(
        self,
        url: str | None,
        token: str | None,
        timeout: float,
        tls: TlsFiles | ssl.SSLContext | None,
        retry_deadline_s: float,
        ca: str | Path | None = None,
    ) -> None:
        scheme, addresses = split_url(url or os.environ.get("PODIUM_URL") or DEFAULT_URL)
        native = scheme == SCHEME
        if native and ca is not None:
            raise ValueError("ca= is for HTTPS; a podium:// cluster port takes tls=TlsFiles(...)")
        # the CA bundle HTTPS calls trust (None: the system's roots)
        self.ca = ca_path(ca)
        self.verify = verify_context(self.ca)
        self.url = SCHEME + ",".join(addresses) if native else ",".join(addresses)
        # the HTTP base URLs; the native client rotates among its addresses itself
        self.urls = [self.url] if native else addresses
        self.token = token
        self.timeout = timeout
        self.retry_deadline_s = retry_deadline_s
        self.native = (
            NativeClient(self.url, token=token, timeout=timeout, tls=tls) if native else None
        )
        # the address that answered last: the next call starts there
        self._current = 0
        self._rng = random.Random()

    def _attempts(self) -> Attempts:
        return Attempts(
            len(self.urls),
            self._current,
            time.monotonic(),
            self.retry_deadline_s,
            self.timeout,
            self._rng,
        )

    def _op(self, call: Call, attempts: Attempts) -> Message:
        if call.op is None:
            raise PodiumError(
                400,
                f"{call.method} {call.path} is not in the native protocol: use the master's "
                "HTTP address for it (a token from POST /auth/login works on both)",
            )
        return call.op if attempts.failures == 0 else resent(call.op)

    def _request(self, call: Call, base: str, timeout: float) -> dict[str, Any]:
        """The httpx ``request`` arguments for ``call`` to ``base``, the same for both."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {
            "method": call.method,
            "url": base + call.path,
            "params": call.params,
            "json": call.body,
            "headers": headers,
            "timeout": timeout,
        }

    def _reader(
        self, type: str | None, job: str | None, status: str | None, last_event_id: str | None
    ) -> EventReader:
        """A new event stream's reader (over HTTP only)."""
        if self.native is not None:
            raise PodiumError(400, NATIVE_REFUSAL)
        params = event_params(type, job, status)
        return EventReader(
            self.urls, params, last_event_id, self.retry_deadline_s, self.timeout, time.monotonic()
        )

    def _logs_request(self, job_id: str, attempt: int | None, follow: bool) -> dict[str, Any]:
        native = self.native is not None
        return logs_request(
            self.urls, self._current, self.token, native, job_id, attempt, follow, self.timeout
        )

    @contextlib.contextmanager
    def _reaching(self, url: str, *, retrying: bool) -> Iterator[None]:
        """httpx's failures to reach ``url`` as this client's: with ``retrying``, one that
        another attempt may mend is a :class:`_Retry` (the caller's loop tries again);
        anything else, and every failure without it, a :class:`PodiumError`."""
        try:
            yield
        except httpx.TransportError as exc:
            failure = self._lost(exc, url)
            if isinstance(failure, _Retry) and not retrying:
                raise failure.error from None
            raise failure from None

    def _lost(self, exc: httpx.TransportError, base: str) -> Exception:
        """What an httpx failure means: another attempt, or (hopeless) the caller's error."""
        if isinstance(exc, _HOPELESS):
            return PodiumError(0, f"cannot reach {base}: {exc!r}")
        distrust = untrusted(exc, base, self.ca)
        if distrust is not None:
            return PodiumError(0, distrust)
        if isinstance(exc, _UNSENT):
            return _Retry(PodiumError(0, f"cannot reach {base}: {exc!r}"), sent=False)
        return _Retry(PodiumError(0, f"no answer from {base}: {exc!r}"), sent=True)

    def _outcome(self, response: httpx.Response, index: int) -> Any:
        if response.status_code in RETRIABLE_STATUSES:
            after = retry_after(response.headers.get("retry-after"))
            raise _Retry(error_of(response), sent=True, after=after)
        self._current = index
        return _answer(response)

    @staticmethod
    def _native_failure(exc: PodiumError) -> Exception:
        """The native client's own failures: 0 (no master reached, nothing sent) and 503
        (no answer, or the master's own 503) are worth another attempt."""
        if exc.status == 0:
            return _Retry(exc, sent=False)
        if exc.status in RETRIABLE_STATUSES:
            return _Retry(exc, sent=True)
        return exc


class Client(_Base):
    """Synchronous client; also a context manager that closes its connections.

    ``url``: ``http(s)://host:port[,http(s)://host:port...]`` (the masters' HTTP
    addresses; default ``$PODIUM_URL``) or ``podium://host:port[,host:port...]``
    (their cluster ports); ``timeout``: seconds one attempt may take;
    ``retry_deadline_s``: seconds a call keeps trying, across the addresses,
    while masters are unreachable or answer 503; ``tls`` (native only): the
    cluster CA and a client certificate it signed, when the cluster runs TLS;
    ``ca`` (HTTPS only; default ``$PODIUM_CA``): the CA bundle that signed the API's
    certificate, when it is not one the system trusts. One client may be shared by
    threads: over the native protocol their calls are in flight together.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_deadline_s: float = DEFAULT_RETRY_DEADLINE_S,
        transport: httpx.BaseTransport | None = None,
        tls: TlsFiles | ssl.SSLContext | None = None,
        ca: str | Path | None = None,
    ) -> None:
        super().__init__(url, token, timeout, tls, retry_deadline_s, ca)
        self.http = httpx.Client(timeout=timeout, transport=transport, verify=self.verify)
        self._loop = LoopThread() if self.native is not None else None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()
        if self._loop is not None and self.native is not None:
            self._loop.run(self.native.aclose)
            self._loop.close()

    def call(self, call: Call) -> Any:
        """Run ``call``, again and at the next address while that may help (see the
        module doc), until ``retry_deadline_s``."""
        attempts = self._attempts()
        while True:
            try:
                return self._attempt(call, attempts)
            except _Retry as failed:
                wait = attempts.failed(
                    failed.error, time.monotonic(), sent=failed.sent, wait_at_least=failed.after
                )
            except PodiumError as refused:
                if call.settle is None or not attempts.unsure:
                    raise
                job = (
                    self._job_or_none(call.settle.job_id)
                    if call.settle.needs_job(refused)
                    else None
                )
                done = already_done(call.settle, refused, job)
                if done is None:
                    raise
                return done
            time.sleep(wait)

    def _attempt(self, call: Call, attempts: Attempts) -> Any:
        timeout = attempts.timeout(time.monotonic())
        if self._loop is not None and self.native is not None:
            try:
                op = self._op(call, attempts)
                return self._loop.run(self._native_call, self.native, op, call, timeout)
            except PodiumError as exc:
                raise self._native_failure(exc) from None
        index = attempts.index
        base = self.urls[index]
        with self._reaching(base, retrying=True):
            response = self.http.request(**self._request(call, base, timeout))
        return self._outcome(response, index)

    def _job_or_none(self, job_id: str) -> Job | None:
        try:
            return self.get(job_id)
        except PodiumError:
            return None

    async def _native_call(
        self, native: NativeClient, op: Message, call: Call, timeout: float
    ) -> Any:
        return await native.call(op, repeatable=call.repeatable, timeout=timeout)

    def submit(self, job_type: str, payload: Mapping[str, Any] | None = None, **opts: Any) -> Job:
        """Submit one job; returns ``{"id", "status"}`` once it is committed. ``opts`` are
        :func:`job_body`'s (``depends_on=[id, ...]``, ``on_parent_failure="skip"``, ...)."""
        result: Job = self.call(_Calls.submit(job_body(job_type, payload, **opts)))
        return result

    def submit_batch(self, jobs: Iterable[Mapping[str, Any]]) -> Jobs:
        """Submit many jobs (build each with :func:`job_body`) in one committed write."""
        result: Jobs = self.call(_Calls.submit_batch(jobs))["jobs"]
        return result

    def get(self, job_id: str, *, stale: bool = False) -> Job:
        result: Job = self.call(_Calls.get(job_id, stale))
        return result

    def logs(self, job_id: str, attempt: int | None = None) -> str:
        """What attempt ``attempt`` (default: the latest) of the job printed and logged,
        head and tail when it wrote more than the worker keeps (HTTP only)."""
        request = self._logs_request(job_id, attempt, follow=False)
        with self._reaching(request["url"], retrying=False):
            return read_text(self.http.request(**request))

    def follow_logs(self, job_id: str, attempt: int | None = None) -> Iterator[str]:
        """The attempt's output as it is written, ending when the attempt ends."""
        request = self._logs_request(job_id, attempt, follow=True)

        def read() -> Iterator[str]:
            with self._reaching(request["url"], retrying=False):
                yield from stream_text(self.http, request)

        return read()

    def get_many(self, job_ids: Sequence[str], *, stale: bool = False) -> dict[str, Any]:
        """Up to 10,000 jobs in one request: ``{"jobs": [...], "missing": [ids]}``, the jobs
        in the order asked."""
        result: dict[str, Any] = self.call(_Calls.get_many(job_ids, stale))
        return result

    def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        order: str = "desc",
        since: When | None = None,
        until: When | None = None,
    ) -> dict[str, Any]:
        """One page: ``{"jobs": [...], "cursor": next page or None}``, newest first unless
        ``order="asc"``; ``since``/``until`` bound the creation time."""
        call = _Calls.list(status, type, limit, cursor, order, since, until)
        result: dict[str, Any] = self.call(call)
        return result

    def iter_jobs(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        order: str = "desc",
        since: When | None = None,
        until: When | None = None,
    ) -> Iterator[Job]:
        """Every matching job, page after page. A cursor is a position in one order, so every
        page asks for the same ``order``; ascending also reaches jobs submitted meanwhile."""
        cursor = None
        while True:
            page = self.list(
                status=status,
                type=type,
                limit=1000,
                cursor=cursor,
                order=order,
                since=since,
                until=until,
            )
            yield from page["jobs"]
            cursor = page["cursor"]
            if not cursor:
                return

    def cancel(self, job_id: str) -> Job:
        result: Job = self.call(_Calls.cancel(job_id))
        return result

    def retry(self, job_id: str) -> Job:
        result: Job = self.call(_Calls.retry(job_id))
        return result

    def delete(self, job_id: str) -> dict[str, int]:
        """Remove one final job for good: ``{"deleted": 1}``; a live job is refused (409),
        so cancel it first."""
        result: dict[str, int] = self.call(_Calls.delete(job_id))
        return result

    def purge(
        self,
        *,
        status: str | Sequence[str] | None = None,
        type: str | None = None,
        before: When | None = None,
    ) -> dict[str, int]:
        """Remove final jobs in bulk: ``{"deleted": n}``. No ``status`` means every final
        status; live jobs are never touched."""
        result: dict[str, int] = self.call(_Calls.purge(status, type, before))
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.stats())
        return result

    def set_limit(
        self,
        job_type: str,
        *,
        rate_per_s: float | None = None,
        burst: float | None = None,
        max_running: int | None = None,
    ) -> dict[str, Any]:
        """Limit ``job_type`` across the cluster (replacing its limit): at most
        ``rate_per_s`` starts a second with bursts of ``burst``, at most ``max_running``
        at once. Returns the type as :meth:`limits` lists it."""
        result: dict[str, Any] = self.call(
            _Calls.set_limit(job_type, rate_per_s, burst, max_running)
        )
        return result

    def clear_limit(self, job_type: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.clear_limit(job_type))
        return result

    def limits(self) -> Jobs:
        """Every limited or paused type: its limit, tokens, running, pending, throttled."""
        result: Jobs = self.call(_Calls.limits())["limits"]
        return result

    def pause_type(self, job_type: str) -> dict[str, Any]:
        """Start no more jobs of ``job_type`` (running ones finish) until resumed."""
        result: dict[str, Any] = self.call(_Calls.pause_type(job_type, True))
        return result

    def resume_type(self, job_type: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.pause_type(job_type, False))
        return result

    def cancel_many(
        self,
        ids: Sequence[str] | None = None,
        *,
        type: str | None = None,
        status: str | Sequence[str] | None = None,
        schedule: str | None = None,
    ) -> int:
        """Cancel live jobs by ``ids``, or every live job matching the filters; returns
        how many were cancelled."""
        result: int = self.call(_Calls.cancel_many(ids, type, status, schedule))["cancelled"]
        return result

    def workers(self) -> Jobs:
        result: Jobs = self.call(_Calls.workers())["workers"]
        return result

    def cluster(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.cluster())
        return result

    def add_schedule(self, name: str, job: Mapping[str, Any], **opts: Any) -> dict[str, Any]:
        """Define a schedule (``cron=`` or ``every_s=``, and ``timezone``, ``catch_up``,
        ``paused``; see :func:`schedule_body`): the schedule as the server shows it."""
        result: dict[str, Any] = self.call(_Calls.add_schedule(schedule_body(name, job, **opts)))
        return result

    def list_schedules(self) -> Jobs:
        result: Jobs = self.call(_Calls.list_schedules())["schedules"]
        return result

    def get_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.get_schedule(name))
        return result

    def pause_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.pause_schedule(name, True))
        return result

    def resume_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(_Calls.pause_schedule(name, False))
        return result

    def delete_schedule(self, name: str) -> dict[str, int]:
        """``{"deleted": 1}``; the jobs the schedule made stay."""
        result: dict[str, int] = self.call(_Calls.delete_schedule(name))
        return result

    def events(
        self,
        *,
        type: str | None = None,
        job: str | None = None,
        status: str | None = None,
        last_event_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Live events, parsed, until the caller stops iterating (see :mod:`client.events`).
        A connection that drops is made again, to the next address, from the last event
        seen (``Last-Event-ID``), so a leader change loses nothing still retained."""
        reader = self._reader(type, job, status, last_event_id)
        while True:
            request = reader.request(self.token)
            try:
                with (
                    self._reaching(request["url"], retrying=True),
                    self.http.stream(**request) as response,
                ):
                    if not reader.opened(response.status_code, time.monotonic()):
                        response.read()
                        _stream_refused(response)
                    for line in response.iter_lines():
                        event = reader.feed(line)
                        if event is not None:
                            yield event
            except _Retry:
                pass
            time.sleep(reader.lost(time.monotonic()))

    def login(self, username: str, password: str) -> str:
        """Get a token and use it for the calls that follow (over HTTP only: a native
        client takes its token when it is made)."""
        self.token = str(self.call(_Calls.login(username, password))["token"])
        return self.token

    def wait(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_s: float = 0.2,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Job]:
        """Block until every job is final; returns the final records by id. Each round is
        one request for all the jobs not yet final (:meth:`get_many`), at most every
        ``poll_s`` seconds (sooner at first, so a quick job is seen quickly)."""
        waiting = _Waiting(job_ids, poll_s)
        deadline = None if timeout is None else time.monotonic() + timeout
        while waiting.pending:
            for part in waiting.parts():
                waiting.take(self.get_many(part))
            delay = waiting.next_round()
            if on_progress is not None:
                on_progress(len(waiting.done), waiting.total)
            if not waiting.pending:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(waiting.late(timeout))
            time.sleep(delay)
        return waiting.done


class AsyncClient(_Base):
    """The same API for asyncio or trio (httpx, and the native transport, run on either
    through anyio); the same ``url`` and ``tls`` as :class:`Client`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_deadline_s: float = DEFAULT_RETRY_DEADLINE_S,
        transport: httpx.AsyncBaseTransport | None = None,
        tls: TlsFiles | ssl.SSLContext | None = None,
        ca: str | Path | None = None,
    ) -> None:
        super().__init__(url, token, timeout, tls, retry_deadline_s, ca)
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport, verify=self.verify)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.native is not None:
            await self.native.aclose()

    async def call(self, call: Call) -> Any:
        """As :meth:`Client.call`."""
        attempts = self._attempts()
        while True:
            try:
                return await self._attempt(call, attempts)
            except _Retry as failed:
                wait = attempts.failed(
                    failed.error, time.monotonic(), sent=failed.sent, wait_at_least=failed.after
                )
            except PodiumError as refused:
                if call.settle is None or not attempts.unsure:
                    raise
                job = (
                    await self._job_or_none(call.settle.job_id)
                    if call.settle.needs_job(refused)
                    else None
                )
                done = already_done(call.settle, refused, job)
                if done is None:
                    raise
                return done
            await anyio.sleep(wait)

    async def _attempt(self, call: Call, attempts: Attempts) -> Any:
        timeout = attempts.timeout(time.monotonic())
        if self.native is not None:
            try:
                op = self._op(call, attempts)
                return await self.native.call(op, repeatable=call.repeatable, timeout=timeout)
            except PodiumError as exc:
                raise self._native_failure(exc) from None
        index = attempts.index
        base = self.urls[index]
        with self._reaching(base, retrying=True):
            response = await self.http.request(**self._request(call, base, timeout))
        return self._outcome(response, index)

    async def _job_or_none(self, job_id: str) -> Job | None:
        try:
            return await self.get(job_id)
        except PodiumError:
            return None

    async def submit(
        self, job_type: str, payload: Mapping[str, Any] | None = None, **opts: Any
    ) -> Job:
        result: Job = await self.call(_Calls.submit(job_body(job_type, payload, **opts)))
        return result

    async def submit_batch(self, jobs: Iterable[Mapping[str, Any]]) -> Jobs:
        result: Jobs = (await self.call(_Calls.submit_batch(jobs)))["jobs"]
        return result

    async def get(self, job_id: str, *, stale: bool = False) -> Job:
        result: Job = await self.call(_Calls.get(job_id, stale))
        return result

    async def logs(self, job_id: str, attempt: int | None = None) -> str:
        """As :meth:`Client.logs`."""
        request = self._logs_request(job_id, attempt, follow=False)
        with self._reaching(request["url"], retrying=False):
            return read_text(await self.http.request(**request))

    def follow_logs(self, job_id: str, attempt: int | None = None) -> AsyncIterator[str]:
        """As :meth:`Client.follow_logs`: ``async for text in client.follow_logs(id)``."""
        request = self._logs_request(job_id, attempt, follow=True)

        async def read() -> AsyncIterator[str]:
            with self._reaching(request["url"], retrying=False):
                async for text in astream_text(self.http, request):
                    yield text

        return read()

    async def get_many(self, job_ids: Sequence[str], *, stale: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.get_many(job_ids, stale))
        return result

    async def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        order: str = "desc",
        since: When | None = None,
        until: When | None = None,
    ) -> dict[str, Any]:
        call = _Calls.list(status, type, limit, cursor, order, since, until)
        result: dict[str, Any] = await self.call(call)
        return result

    async def cancel(self, job_id: str) -> Job:
        result: Job = await self.call(_Calls.cancel(job_id))
        return result

    async def retry(self, job_id: str) -> Job:
        result: Job = await self.call(_Calls.retry(job_id))
        return result

    async def delete(self, job_id: str) -> dict[str, int]:
        result: dict[str, int] = await self.call(_Calls.delete(job_id))
        return result

    async def purge(
        self,
        *,
        status: str | Sequence[str] | None = None,
        type: str | None = None,
        before: When | None = None,
    ) -> dict[str, int]:
        result: dict[str, int] = await self.call(_Calls.purge(status, type, before))
        return result

    async def events(
        self,
        *,
        type: str | None = None,
        job: str | None = None,
        status: str | None = None,
        last_event_id: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """As :meth:`Client.events`."""
        reader = self._reader(type, job, status, last_event_id)
        while True:
            request = reader.request(self.token)
            try:
                with self._reaching(request["url"], retrying=True):
                    async with self.http.stream(**request) as response:
                        if not reader.opened(response.status_code, time.monotonic()):
                            await response.aread()
                            _stream_refused(response)
                        async for line in response.aiter_lines():
                            event = reader.feed(line)
                            if event is not None:
                                yield event
            except _Retry:
                pass
            await anyio.sleep(reader.lost(time.monotonic()))

    async def login(self, username: str, password: str) -> str:
        self.token = str((await self.call(_Calls.login(username, password)))["token"])
        return self.token

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.stats())
        return result

    async def set_limit(
        self,
        job_type: str,
        *,
        rate_per_s: float | None = None,
        burst: float | None = None,
        max_running: int | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            _Calls.set_limit(job_type, rate_per_s, burst, max_running)
        )
        return result

    async def clear_limit(self, job_type: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.clear_limit(job_type))
        return result

    async def limits(self) -> Jobs:
        result: Jobs = (await self.call(_Calls.limits()))["limits"]
        return result

    async def pause_type(self, job_type: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.pause_type(job_type, True))
        return result

    async def resume_type(self, job_type: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.pause_type(job_type, False))
        return result

    async def cancel_many(
        self,
        ids: Sequence[str] | None = None,
        *,
        type: str | None = None,
        status: str | Sequence[str] | None = None,
        schedule: str | None = None,
    ) -> int:
        answer = await self.call(_Calls.cancel_many(ids, type, status, schedule))
        result: int = answer["cancelled"]
        return result

    async def workers(self) -> Jobs:
        result: Jobs = (await self.call(_Calls.workers()))["workers"]
        return result

    async def cluster(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.cluster())
        return result

    async def add_schedule(self, name: str, job: Mapping[str, Any], **opts: Any) -> dict[str, Any]:
        call = _Calls.add_schedule(schedule_body(name, job, **opts))
        result: dict[str, Any] = await self.call(call)
        return result

    async def list_schedules(self) -> Jobs:
        result: Jobs = (await self.call(_Calls.list_schedules()))["schedules"]
        return result

    async def get_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.get_schedule(name))
        return result

    async def pause_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.pause_schedule(name, True))
        return result

    async def resume_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(_Calls.pause_schedule(name, False))
        return result

    async def delete_schedule(self, name: str) -> dict[str, int]:
        result: dict[str, int] = await self.call(_Calls.delete_schedule(name))
        return result

    async def iter_jobs(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        order: str = "desc",
        since: When | None = None,
        until: When | None = None,
    ) -> AsyncIterator[Job]:
        """As :meth:`Client.iter_jobs`: ``async for job in client.iter_jobs(status="dead")``."""
        cursor = None
        while True:
            page = await self.list(
                status=status,
                type=type,
                limit=1000,
                cursor=cursor,
                order=order,
                since=since,
                until=until,
            )
            for job in page["jobs"]:
                yield job
            cursor = page["cursor"]
            if not cursor:
                return

    async def wait(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = None,
        poll_s: float = 0.2,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Job]:
        """As :meth:`Client.wait`: one request per round; ``TimeoutError`` (saying how many
        jobs are not final) after ``timeout`` seconds; ``on_progress(done, total)`` after
        each round."""
        waiting = _Waiting(job_ids, poll_s)
        deadline = None if timeout is None else time.monotonic() + timeout
        while waiting.pending:
            for part in waiting.parts():
                waiting.take(await self.get_many(part))
            delay = waiting.next_round()
            if on_progress is not None:
                on_progress(len(waiting.done), waiting.total)
            if not waiting.pending:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(waiting.late(timeout))
            await anyio.sleep(delay)
        return waiting.done
