"""The HTTP API (Starlette), talking to the node's master actor by ``ask``.

Any master serves any request: the local master answers what it can and says
``NotLeader`` for what only the leader may do, and the gateway then forwards
the same request to the leader's master over the cluster transport (one hop,
so a client never has to find the leader itself). A forward is watched, not
just awaited (see :meth:`Gateway.call`): when the leader it went to stops
leading or falls silent, the request is sent again to the new leader if that
is safe, or answered 503 "may still apply" at once. Reads go to the leader
wrapped in ``Linearizable`` (a ReadIndex round) unless ``?stale=true`` asks
for this master's own copy. Every route checks its permission first
(:mod:`actors.gateway.auth`). Bodies are size-capped before parsing, and
every error is JSON ``{"error": "..."}``. A body must also arrive within
``body_timeout_s`` (408 otherwise), and a 405 names the allowed methods
(:mod:`actors.gateway.limits`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from typing import Any

import attrs
import trio
from attrs import evolve
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.gateway.auth import (
    ANONYMOUS,
    Authenticator,
    Forbidden,
    Permission,
    Principal,
    Unauthorized,
)
from actors.gateway.batch_refs import check_refs
from actors.gateway.batching import SubmitBatcher
from actors.gateway.control import parse_bulk_cancel, parse_limit
from actors.gateway.events_api import event_routes
from actors.gateway.http_common import (
    MASTER,
    STATUSES,
    Answer,
    ApiError,
    Endpoint,
    is_stale,
    no_query,
    respond,
    view,
)
from actors.gateway.limits import BodyDeadline, allowed_methods
from actors.gateway.logs import logs_endpoint
from actors.gateway.openapi import CURSOR_PATTERN, OPENAPI
from actors.gateway.ownership import Ownership, audited
from actors.gateway.schedules import ScheduleService, schedule_routes
from actors.gateway.submit_traces import submit_traces, trace_id_of_spec
from actors.gateway.ui import ui_routes
from actors.gateway.validation import (
    BadRequest,
    JobRequest,
    parse_batch,
    parse_job,
    parse_purge,
    parse_time,
    parse_type,
    to_spec,
)
from actors.scheduler.state import DEDUPLICATED
from runtime.errors import AskError, AskTimeout
from runtime.system import ActorSystem
from runtime.tracing import TRACING, incoming
from transport.client_wire import AUTO_KEY_PREFIX
from transport.cluster import (
    READS,
    CancelJob,
    DeleteJob,
    DiskFull,
    GetCluster,
    GetJob,
    GetJobs,
    GetStats,
    GetWorkers,
    InDoubt,
    JobChanged,
    JobSpec,
    JobStatus,
    JsonView,
    Linearizable,
    ListJobs,
    NotLeader,
    PurgeJobs,
    Rejected,
    Removed,
    RetryJob,
    SubmitJobs,
    Submitted,
    Unavailable,
)
from transport.codec import Message
from transport.queue_control import CancelJobs, CancelledJobs, ClearTypeLimit, GetLimits, PauseType
from transport.schedule_requests import RESENDABLE_SCHEDULE_WRITES, SCHEDULE_READS

log = logging.getLogger("podium.gateway")

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_BODY_TIMEOUT_S = 30.0
LIST_LIMIT_MAX = 1000
# ids one POST /api/v1/jobs/status may ask about (a batch's worth)
STATUS_IDS_MAX = 10_000
# how often a gateway asks again while no leader is known, and how often a pending
# forward checks that its target still leads
ELECTION_POLL_S = 0.05
# a forward whose target has been unreachable this long is given up
LINK_QUIET_S = 0.2
# how long the gateway waits for its own master's view of the leader
VIEW_TIMEOUT_S = 1.0


class _Abandoned(Exception):
    """A forward given up: its target stopped leading or went quiet (``why``)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def resendable(msg: Message) -> bool:
    """Whether ``msg`` may be sent again after its first sending went unanswered: a read,
    a submit whose every job has an idempotency key (the leader answers a repeated
    key with the job it made the first time), or a schedule's definition, pause or
    resume (done twice, each leaves what once does). Anything else may already have
    applied."""
    if isinstance(msg, (Linearizable, GetCluster, *READS, *SCHEDULE_READS)):
        return True
    if isinstance(msg, RESENDABLE_SCHEDULE_WRITES):
        return True
    return isinstance(msg, SubmitJobs) and all(
        spec.idempotency_key is not None for spec in msg.jobs
    )


def _sent_once(msg: Message) -> Message:
    """``msg`` to send again: fresh keys may name jobs by now (the first sending may have
    applied), so the leader must look them up."""
    if isinstance(msg, SubmitJobs) and msg.fresh:
        return attrs.evolve(msg, fresh=False)
    return msg


def _submitted(spec: JobSpec, status: JobStatus) -> Answer | ApiError:
    """How one submitted job is answered: 201 made now, 200 when its idempotency key
    already named this same job, 409 when the key names a job with another body; 200 and
    ``"deduplicated": true`` when a live job already held its unique_key (that job)."""
    body: dict[str, Any] = {"id": status.id, "status": status.status}
    if status.duplicate == DEDUPLICATED:
        body["deduplicated"] = True
    if status.duplicate == "conflict":
        return ApiError(
            409,
            f"idempotency key {spec.idempotency_key!r} already names job {status.id} "
            "(submitted with a different body); use another key for another job",
            body,
        )
    return Answer(200 if status.duplicate else 201, body)


class Gateway:
    """The app's link to the cluster: one node's actor system and its master."""

    def __init__(
        self,
        system: ActorSystem,
        *,
        timeout_s: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
        home: str | None = None,
    ) -> None:
        """``home`` is the master asked first: this node's own, unless it runs none."""
        self.system = system
        self.timeout_s = timeout_s
        self.max_body = max_body
        self.body_timeout_s = body_timeout_s
        self.home = home or system.node
        # the home master's latest answer on who leads: (when it was asked, the leader)
        self._seen: tuple[float, str | None] | None = None
        self._fetching: trio.Event | None = None

    async def call(self, msg: Message, *, forward: bool = True) -> Message:
        """Ask the local master; follow NotLeader to the leader; wait out an election.

        A NotLeader answer means nothing was done, so asking again is safe,
        and the gateway keeps at it until its deadline: during a failover a
        client sees a slower answer rather than an error. A leader hint this
        node cannot reach (a dead leader that the followers have not yet given
        up on) is not waited on.

        A forward to the leader is watched while it waits: once the home
        master names another leader (or none: it stopped hearing this one) or
        the link to the target stays down for :data:`LINK_QUIET_S`, the
        forward is given up, well before the ask's own timeout. So is a write
        the leader itself answers as in doubt. What may have applied is sent
        again only when that is safe (:func:`resendable`); anything else is
        answered 503 "may still apply" at once, as is a timeout.
        """
        home = self.home
        deadline = trio.current_time() + self.timeout_s
        target, forwarded = home, False
        resend = resendable(msg)
        while True:
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                raise ApiError(503, "no leader is elected right now; retry shortly")
            answer: Message | None
            try:
                if target == home:
                    answer = await self.system.ref(target, MASTER).ask(msg, remaining)
                else:
                    answer = await self._forward(target, msg, remaining)
            except AskTimeout:
                raise ApiError(
                    503, f"master {target} did not answer in time; the request may still apply"
                ) from None
            except AskError as exc:
                raise ApiError(503, f"master {target} failed: {exc}") from None
            except _Abandoned as exc:
                if not resend:
                    raise ApiError(
                        503,
                        f"master {target} {exc.why} before answering; the request may still apply",
                    ) from None
                answer = None
            if answer is None or isinstance(answer, InDoubt):
                msg = _sent_once(msg)  # the first sending may have applied
            if isinstance(answer, InDoubt) and not resend:
                raise ApiError(503, answer.reason)
            if isinstance(answer, DiskFull):
                raise ApiError(507, answer.reason)
            if isinstance(answer, Unavailable):
                raise ApiError(503, answer.reason)
            if isinstance(answer, Rejected):
                raise ApiError(400, answer.reason)
            if answer is not None and not isinstance(answer, (NotLeader, InDoubt)):
                return answer
            if isinstance(answer, NotLeader):
                if not forward:
                    raise ApiError(503, "this master is not the leader")
                hint = answer.leader
                if (
                    not forwarded
                    and hint is not None
                    and hint != target
                    and self.system.reachable(hint)
                ):
                    target, forwarded = hint, True
                    continue
            # an election is on, the hint is stale, or a safe request is sent again once
            # the home master knows the new leader: ask home again shortly
            target, forwarded = home, False
            await trio.sleep(min(ELECTION_POLL_S, remaining))

    async def _forward(self, target: str, msg: Message, timeout: float) -> Message:
        """Ask ``target`` (the leader, as home said); raise :class:`_Abandoned` as soon as
        home names another leader or the link to ``target`` stays down."""
        sent_at = trio.current_time()
        outcome: list[Message | Exception] = []

        async def ask(cancel: trio.CancelScope) -> None:
            try:
                outcome.append(await self.system.ref(target, MASTER).ask(msg, timeout))
            except (AskTimeout, AskError) as exc:
                outcome.append(exc)
            cancel.cancel()

        async def watch(cancel: trio.CancelScope) -> None:
            outcome.append(_Abandoned(await self._deposed(target, sent_at)))
            cancel.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, nursery.cancel_scope)
            nursery.start_soon(watch, nursery.cancel_scope)
        first = outcome[0]
        if isinstance(first, Exception):
            raise first
        return first

    async def _deposed(self, target: str, since: float) -> str:
        """Return (why) once ``target`` no longer leads as far as this node can tell."""
        quiet_since: float | None = None
        while True:
            await trio.sleep(ELECTION_POLL_S)
            now = trio.current_time()
            if self.system.reachable(target):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= LINK_QUIET_S:
                return "became unreachable"
            known, leader = await self._home_leader(since)
            if known and leader != target:
                return f"stopped leading (leader now: {leader or 'being elected'})"

    async def _home_leader(self, since: float) -> tuple[bool, str | None]:
        """Who the home master says leads, from an answer asked after ``since`` and at most
        one poll ago; every pending forward shares one question at a time. (False, None)
        if unknown."""
        fresh = max(since, trio.current_time() - ELECTION_POLL_S)
        for _ in range(2):
            seen = self._seen
            if seen is not None and seen[0] >= fresh:
                return True, seen[1]
            if self._fetching is not None:
                await self._fetching.wait()
                continue
            fetching = self._fetching = trio.Event()
            asked = trio.current_time()
            try:
                answer = await self.system.ref(self.home, MASTER).ask(GetCluster(), VIEW_TIMEOUT_S)
                if isinstance(answer, JsonView):
                    self._seen = (asked, json.loads(answer.json).get("leader"))
            except (AskTimeout, AskError):
                return False, None
            finally:
                self._fetching = None
                fetching.set()
        return False, None

    async def read(self, msg: Message, stale: bool) -> Message:
        """A read: linearizable on the leader (ReadIndex), or ``stale`` from this master."""
        if stale:
            return await self.call(msg, forward=False)
        return await self.call(Linearizable(msg))

    def check_size(self, size: int) -> None:
        """Refuse a body over ``max_body`` bytes, whichever protocol brought it."""
        if size > self.max_body:
            raise ApiError(413, f"request body over the {self.max_body}-byte limit")

    async def body(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isascii() and declared.isdigit():
            self.check_size(int(declared))
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            self.check_size(len(chunks))
        try:
            return json.loads(chunks)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"body is not valid JSON: {exc}") from None


# the exceptions that refuse a request, as (status, message); any other is a bug
REFUSALS = (BadRequest, Forbidden, ApiError)
Refusal = BadRequest | Forbidden | ApiError


def refusal(exc: Refusal) -> tuple[int, str]:
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    return (400 if isinstance(exc, BadRequest) else 403), str(exc)


# a page's cursor, by the pattern the OpenAPI document states
CURSOR = re.compile(CURSOR_PATTERN)


def decode_cursor(text: str) -> int:
    """The seq a page ended at, from the opaque cursor the previous page returned."""
    if not text or not CURSOR.fullmatch(text):
        raise BadRequest("cursor must be the 'cursor' value of the previous page")
    return int(text[1:], 16)


P = Permission
# what each operation needs, by the HTTP route that names it (None: open to anyone); the
# native protocol looks its operations up here too, so both grant exactly the same
PERMISSIONS: dict[str, Permission | None] = {
    "POST /api/v1/jobs": P.SUBMIT,
    "GET /api/v1/jobs": P.READ,
    "POST /api/v1/jobs/batch": P.SUBMIT,
    "POST /api/v1/jobs/purge": P.DELETE,
    "POST /api/v1/jobs/status": P.READ,
    "GET /api/v1/jobs/{job_id}": P.READ,
    "GET /api/v1/jobs/{job_id}/logs": P.READ,
    "DELETE /api/v1/jobs/{job_id}": P.DELETE,
    "POST /api/v1/jobs/{job_id}/cancel": P.CANCEL,
    "POST /api/v1/jobs/{job_id}/retry": P.RETRY,
    "GET /api/v1/stats": P.READ,
    "GET /api/v1/workers": P.WORKERS,
    "GET /api/v1/cluster": P.CLUSTER,
    "POST /api/v1/jobs/cancel": P.CANCEL,
    "GET /api/v1/limits": P.READ,
    "PUT /api/v1/limits/{type}": P.CONTROL,
    "DELETE /api/v1/limits/{type}": P.CONTROL,
    "POST /api/v1/types/{type}/pause": P.CONTROL,
    "POST /api/v1/types/{type}/resume": P.CONTROL,
    "POST /api/v1/schedules": P.SCHEDULE,
    "GET /api/v1/schedules": P.READ,
    "GET /api/v1/schedules/{name}": P.READ,
    "DELETE /api/v1/schedules/{name}": P.SCHEDULE,
    "POST /api/v1/schedules/{name}/pause": P.SCHEDULE,
    "POST /api/v1/schedules/{name}/resume": P.SCHEDULE,
    "GET /api/v1/events": P.READ,
    "GET /api/v1/cluster/masters": P.CLUSTER,
    "GET /ui": None,
    "GET /ui/static/{name}": None,
    "GET /health": None,
    "GET /ready": None,
    "GET /metrics": None,
    "POST /auth/login": None,
    "GET /openapi.json": None,
}


class Service:
    """The API's operations, whatever carried the request (HTTP or the native protocol).

    Each takes the request's parts already taken apart (a body, a job id, a
    query as strings), runs the same validation and the same cluster calls,
    and returns an :class:`Answer` or raises one of :data:`REFUSALS`; the
    HTTP routes and the native sessions only translate.
    """

    def __init__(self, gateway: Gateway, auth: Authenticator) -> None:
        self.gateway = gateway
        self.auth = auth
        self.owners = Ownership(auth)
        self.batcher = SubmitBatcher(gateway.call)
        # keyed submits batch among themselves, so a batch of plain ones never waits for
        # the keyed path's history lookup
        self.keyed_batcher = SubmitBatcher(gateway.call)
        # and those whose keys their client just made skip it altogether
        self.fresh_batcher = SubmitBatcher(gateway.call, fresh=True)
        self.schedules = ScheduleService(self)

    def authorize(self, who: Principal, what: str) -> None:
        """Raise Forbidden unless ``who`` may call the route ``what`` ("POST /api/v1/jobs")."""
        needs = PERMISSIONS[what]
        if needs is not None:
            self.auth.check(who, needs, what)

    def _shell_check(self, who: Principal, jobs: list[JobRequest], what: str) -> None:
        if any(job.type == "shell" for job in jobs):
            self.auth.check(who, Permission.SHELL, what)

    async def submit(self, who: Principal, body: Any) -> Answer:
        (result,) = await self.submit_each(who, [body])
        if isinstance(result, Exception):
            raise result
        return result

    async def submit_each(
        self, who: Principal, bodies: Sequence[Any], *, fresh: Container[int] = ()
    ) -> list[Answer | Refusal]:
        """Single submits that arrived together, each answered as if alone: checked on its
        own (a bad one gets its own 400; a body already refused is its own answer), the
        valid ones committed together through the batchers, those without an idempotency
        key in one batch and the keyed ones in another. (Every job the Python client
        submits is keyed, so keyed single submits must batch as well as plain ones.) A job
        that depends on others goes alone: the leader refuses a whole submit that names
        an unknown parent, and one job's mistake must not refuse its neighbours'.
        ``fresh``: the positions of bodies whose client says their key is its own, sent
        for the first time; those that hold such a key batch apart, with no lookup."""
        now = self.gateway.system.wall_clock()
        results: list[Answer | Refusal] = []
        plain: list[tuple[int, JobSpec]] = []
        keyed: list[tuple[int, JobSpec]] = []
        new_keys: list[tuple[int, JobSpec]] = []
        linked: list[tuple[int, JobSpec]] = []
        traces = submit_traces()
        for n, body in enumerate(bodies):
            if isinstance(body, REFUSALS):
                results.append(body)
                continue
            try:
                job = parse_job(body, now)
                self._shell_check(who, [job], "POST /api/v1/jobs")
                spec = self.owners.stamp(to_spec(job), who)
            except REFUSALS as exc:
                results.append(exc)
                continue
            if traces is not None:
                spec = traces.stamp(n, spec)
            results.append(Answer(201))
            # the key as the client sent it: stamping an owner prefixes it
            key = job.idempotency_key
            if spec.options is not None and spec.options.depends_on:
                linked.append((n, spec))
            elif key is None:
                plain.append((n, spec))
            elif n in fresh and key.startswith(AUTO_KEY_PREFIX):
                new_keys.append((n, spec))
            else:
                keyed.append((n, spec))

        async def commit(group: list[tuple[int, JobSpec]], batcher: SubmitBatcher) -> None:
            specs = tuple(spec for _, spec in group)
            try:
                made = await batcher.submit(specs)
            except ApiError as exc:
                for n, _ in group:
                    results[n] = exc
                return
            for (n, spec), status in zip(group, made, strict=True):
                results[n] = _submitted(spec, status)
                if traces is not None:
                    traces.committed(n, status.id)
                log.debug(
                    "job submitted",
                    extra={
                        "job": status.id,
                        "type": spec.type,
                        "user": who.name,
                        "trace_id": trace_id_of_spec(spec),
                    },
                )

        async def alone(n: int, spec: JobSpec) -> None:
            try:
                answer = await self.gateway.call(SubmitJobs((spec,)))
            except ApiError as exc:
                results[n] = exc
                return
            assert isinstance(answer, Submitted)
            results[n] = _submitted(spec, answer.jobs[0])
            if traces is not None:
                traces.committed(n, answer.jobs[0].id)

        async with trio.open_nursery() as nursery:
            if plain:
                nursery.start_soon(commit, plain, self.batcher)
            if keyed:
                nursery.start_soon(commit, keyed, self.keyed_batcher)
            if new_keys:
                nursery.start_soon(commit, new_keys, self.fresh_batcher)
            for n, spec in linked:
                nursery.start_soon(alone, n, spec)
        if traces is not None:
            traces.answered(results)
        return results

    async def submit_batch(self, who: Principal, body: Any) -> Answer:
        jobs = parse_batch(body, self.gateway.system.wall_clock())
        check_refs(jobs)
        self._shell_check(who, jobs, "POST /api/v1/jobs/batch")
        specs = tuple(self.owners.stamp(to_spec(job), who) for job in jobs)
        traces = submit_traces()
        if traces is not None:
            specs = tuple(traces.stamp(n, spec) for n, spec in enumerate(specs))
        try:
            answer = await self.gateway.call(SubmitJobs(specs))
        except ApiError as exc:
            if traces is not None:
                traces.answered([exc] * len(specs))
            raise
        assert isinstance(answer, Submitted)
        entries: list[dict[str, Any]] = []
        outcomes: list[Answer | ApiError] = []
        for n, (spec, status) in enumerate(zip(specs, answer.jobs, strict=True)):
            outcome = _submitted(spec, status)
            outcomes.append(outcome)
            if traces is not None:
                traces.committed(n, status.id)
            # a batch answers each job as a single submit would, in its entry
            if isinstance(outcome, ApiError):
                entry = {**outcome.details, "error": outcome.message}
            else:
                entry = dict(outcome.value)
            if status.duplicate and status.duplicate != DEDUPLICATED:
                entry["duplicate"] = status.duplicate
            entries.append(entry)
        # 201 when the batch made a job, 200 when every key named one already
        made = any(not j.duplicate for j in answer.jobs)
        if traces is not None:
            traces.answered(outcomes)
        return Answer(201 if made else 200, {"jobs": entries})

    async def get_job(self, who: Principal, job_id: str, stale: bool) -> Answer:
        """One job; another user's is not found, as a job that does not exist."""
        answer = view(await self.gateway.read(GetJob(job_id), stale), f"job {job_id!r}")
        if answer.json is not None and not self.owners.sees(who, answer.json):
            raise ApiError(404, f"job {job_id!r} not found")
        return answer

    async def get_jobs(self, who: Principal, body: Any, stale: bool) -> Answer:
        """Many jobs in one read, ``body`` being ``{"ids": [...]}``: what a client waiting
        on a batch asks each round, instead of one request per job."""
        ids = body.get("ids") if isinstance(body, dict) and set(body) == {"ids"} else None
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= STATUS_IDS_MAX
            or not all(isinstance(i, str) and i for i in ids)
        ):
            raise BadRequest(
                f'status takes {{"ids": [...]}}: 1 to {STATUS_IDS_MAX} job ids (strings)'
            )
        # another user's jobs are answered missing by the master itself
        ask = GetJobs(tuple(ids), self.owners.scope(who))
        return view(await self.gateway.read(ask, stale), "jobs")

    async def list_jobs(self, who: Principal, query: Mapping[str, str], stale: bool) -> Answer:
        """``query``: the parameters of ``GET /api/v1/jobs`` as a query string holds them."""
        limit_text = query.get("limit", "100")
        if (
            not (limit_text.isascii() and limit_text.isdigit())
            or not 1 <= int(limit_text) <= LIST_LIMIT_MAX
        ):
            raise BadRequest(f"limit must be an integer from 1 to {LIST_LIMIT_MAX}")
        status = query.get("status")
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        order = query.get("order", "desc")
        if order not in ("desc", "asc"):
            raise BadRequest(f"order must be desc (newest first) or asc, got {order!r}")
        cursor = query.get("cursor") or None
        since, until = query.get("since"), query.get("until")
        msg = ListJobs(
            status,
            query.get("type") or None,
            int(limit_text),
            decode_cursor(cursor) if cursor is not None else None,
            order == "asc",
            parse_time(since, "since") if since else None,
            parse_time(until, "until") if until else None,
            owner=self.owners.scope(who),
        )
        return view(await self.gateway.read(msg, stale), "page")

    async def _change(self, msg: Message) -> Answer:
        answer = await self.gateway.call(msg)
        assert isinstance(answer, JobChanged)
        if answer.not_found:
            raise ApiError(404, f"job {answer.id!r} not found")
        if answer.error:
            raise ApiError(409, answer.error)
        return Answer(value={"id": answer.id, "status": answer.status})

    async def _audited(
        self, who: Principal, event: str, target: dict[str, Any], change: Awaitable[Answer]
    ) -> Answer:
        """Run ``change`` and write its outcome to the audit trail: ok, or the refusal."""
        try:
            answer = await change
        except REFUSALS as exc:
            status, message = refusal(exc)
            audited(who, event, {**target, "status": status, "reason": message}, "refused")
            raise
        audited(who, event, {**target, **(answer.value or {})}, "ok")
        return answer

    async def _job_write(
        self, who: Principal, event: str, job_id: str, write: Callable[[], Awaitable[Answer]]
    ) -> Answer:
        """A cancel, retry or delete of one job, audited: 404 unless ``who`` may touch the
        job (a ``user``'s is read first, from the leader). With tracing on the audit line
        also carries the job's ``trace_id``, as every log line about a job does; the trace
        never changes, so for that alone this master's own copy is read."""

        async def checked() -> Answer:
            found: bytes | None = None
            if self.owners.scope(who) is not None:
                found = (await self.get_job(who, job_id, False)).json
            elif TRACING.on:
                # a job not applied here yet: its line goes without, the write goes on
                with contextlib.suppress(ApiError):
                    found = (await self.get_job(who, job_id, True)).json
            trace_id = json.loads(found).get("trace_id") if TRACING.on and found else None
            if trace_id is not None:
                target["trace_id"] = trace_id
            return await write()

        target: dict[str, Any] = {"job": job_id}
        return await self._audited(who, event, target, checked())

    async def cancel(self, who: Principal, job_id: str) -> Answer:
        return await self._job_write(who, "cancel", job_id, lambda: self._change(CancelJob(job_id)))

    async def retry(self, who: Principal, job_id: str) -> Answer:
        return await self._job_write(who, "retry", job_id, lambda: self._change(RetryJob(job_id)))

    async def delete(self, who: Principal, job_id: str) -> Answer:
        return await self._job_write(
            who, "delete", job_id, lambda: self._removed(DeleteJob(job_id), f"job {job_id!r}")
        )

    async def _removed(self, msg: Message, what: str) -> Answer:
        answer = await self.gateway.call(msg)
        assert isinstance(answer, Removed)
        if answer.not_found:
            raise ApiError(404, f"{what} not found")
        if answer.error:
            raise ApiError(409, answer.error)
        return Answer(value={"deleted": answer.deleted})

    async def purge(self, who: Principal, body: Any) -> Answer:
        wanted = parse_purge({} if body is None else body)
        msg = PurgeJobs(wanted.statuses, wanted.type, wanted.before)
        target = {"statuses": list(wanted.statuses), "type": wanted.type, "before": wanted.before}
        return await self._audited(who, "purge", target, self._removed(msg, "jobs"))

    async def stats(self, stale: bool) -> Answer:
        return view(await self.gateway.read(GetStats(), stale), "stats")

    async def workers(self, stale: bool) -> Answer:
        return view(await self.gateway.read(GetWorkers(), stale), "workers")

    async def cluster(self) -> Answer:
        return view(await self.gateway.call(GetCluster(), forward=False), "cluster")

    # -- job types: limits, pauses; bulk cancel ----------------------------------------

    async def set_limit(self, who: Principal, job_type: str, body: Any) -> Answer:
        change = self._type_change(parse_limit(job_type, body), "type")
        return await self._audited(who, "limit_set", {"type": job_type}, change)

    async def clear_limit(self, who: Principal, job_type: str) -> Answer:
        msg = ClearTypeLimit(parse_type(job_type))
        change = self._type_change(msg, f"a limit on type {job_type!r}")
        return await self._audited(who, "limit_clear", {"type": job_type}, change)

    async def limits(self, stale: bool) -> Answer:
        return view(await self.gateway.read(GetLimits(), stale), "limits")

    async def pause_type(self, who: Principal, job_type: str, paused: bool) -> Answer:
        change = self._type_change(PauseType(parse_type(job_type), paused), "type")
        event = "type_pause" if paused else "type_resume"
        return await self._audited(who, event, {"type": job_type}, change)

    async def _type_change(self, msg: Message, what: str) -> Answer:
        return view(await self.gateway.call(msg), what)

    async def cancel_many(self, who: Principal, body: Any) -> Answer:
        """A ``user``'s bulk cancel takes only their own jobs, whatever it names."""
        msg = evolve(parse_bulk_cancel(body), owner=self.owners.scope(who))
        target = {"ids": len(msg.ids), "type": msg.type, "statuses": list(msg.statuses),
                  "schedule": msg.schedule}  # fmt: skip
        return await self._audited(who, "bulk_cancel", target, self._cancel_many(msg))

    async def _cancel_many(self, msg: CancelJobs) -> Answer:
        answer = await self.gateway.call(msg)
        assert isinstance(answer, CancelledJobs), answer
        return Answer(value={"cancelled": answer.cancelled})


def _not_ready(info: Mapping[str, Any]) -> str:
    """Why a master is not ready, from its ``GetCluster`` view."""
    node = info.get("node", "this master")
    if info.get("disk_full"):
        return f"disk full on {node}: {info['disk_full']}"
    if info.get("leader") is None:
        return "no leader is elected right now"
    applied, commit = info.get("applied_index"), info.get("commit_index")
    return f"{node} is catching up (applied {applied} of {commit})"


def build_app(
    gateway: Gateway,
    auth: Authenticator,
    registry: CollectorRegistry | None = None,
    service: Service | None = None,
) -> Starlette:
    """The HTTP API; every route checks its permission first (all open when auth is off).

    ``service`` is shared with the node's native client sessions, so both
    protocols' single submits fill the same batches; by default the app makes its own.
    """
    api = service or Service(gateway, auth)

    async def submit(request: Request, who: Principal) -> Response:
        with incoming(request.headers):
            return respond(await api.submit(who, await gateway.body(request)))

    async def submit_batch(request: Request, who: Principal) -> Response:
        with incoming(request.headers):
            return respond(await api.submit_batch(who, await gateway.body(request)))

    async def get_job(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await api.get_job(who, request.path_params["job_id"], is_stale(request)))

    async def get_jobs(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await api.get_jobs(who, await gateway.body(request), is_stale(request)))

    async def list_jobs(request: Request, who: Principal) -> Response:
        no_query(
            request,
            frozenset({"status", "type", "limit", "cursor", "order", "since", "until", "stale"}),
        )
        return respond(await api.list_jobs(who, request.query_params, is_stale(request)))

    async def cancel(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.cancel(who, request.path_params["job_id"]))

    async def retry(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.retry(who, request.path_params["job_id"]))

    async def delete(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.delete(who, request.path_params["job_id"]))

    async def purge(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.purge(who, await gateway.body(request)))

    async def stats(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await api.stats(is_stale(request)))

    async def workers(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await api.workers(is_stale(request)))

    async def cluster(request: Request, who: Principal) -> Response:
        return respond(await api.cluster())

    async def cancel_many(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.cancel_many(who, await gateway.body(request)))

    async def limits(request: Request, who: Principal) -> Response:
        no_query(request)
        return respond(await api.limits(is_stale(request)))

    async def set_limit(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        job_type = request.path_params["type"]
        return respond(await api.set_limit(who, job_type, await gateway.body(request)))

    async def clear_limit(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.clear_limit(who, request.path_params["type"]))

    async def pause_type(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.pause_type(who, request.path_params["type"], True))

    async def resume_type(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return respond(await api.pause_type(who, request.path_params["type"], False))

    async def health(request: Request, who: Principal) -> Response:
        return JSONResponse({"status": "ok", "node": gateway.system.node})

    async def ready(request: Request, who: Principal) -> Response:
        answer = await gateway.call(GetCluster(), forward=False)
        assert isinstance(answer, JsonView)
        info = json.loads(answer.json)
        ready = bool(info.get("ready"))
        body: dict[str, Any] = {"ready": ready, "leader": info.get("leader")}
        if not ready:
            body["reason"] = _not_ready(info)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request, who: Principal) -> Response:
        if registry is None:
            raise ApiError(404, "metrics are not enabled on this node")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def login(request: Request, who: Principal) -> Response:
        if not auth.enabled:
            raise ApiError(404, "auth is off on this cluster: no token is needed")
        body = await gateway.body(request)
        if (
            not isinstance(body, dict)
            or set(body) != {"username", "password"}
            or not all(isinstance(v, str) for v in body.values())
        ):
            raise BadRequest('login takes {"username": "...", "password": "..."}')
        remote = request.client.host if request.client else "?"
        try:
            token = await auth.login(body["username"], body["password"], remote)
        except Unauthorized as exc:
            raise ApiError(401, str(exc)) from None
        return JSONResponse({"token": token, "expires_in": auth.config.token_ttl_s})

    async def openapi(request: Request, who: Principal) -> Response:
        return JSONResponse(OPENAPI)

    def route(path: str, method: str, endpoint: Endpoint) -> Route:
        what = f"{method} {path}"
        needs = PERMISSIONS[what]

        async def run(request: Request) -> Response:
            try:
                who = ANONYMOUS
                if needs is not None:
                    remote = request.client.host if request.client else "?"
                    try:
                        who = auth.admit(request.headers.get("authorization"), what, remote)
                    except Unauthorized as exc:
                        return JSONResponse(
                            {"error": str(exc)},
                            status_code=401,
                            headers={"WWW-Authenticate": "Bearer"},
                        )
                    auth.check(who, needs, what)
                return await endpoint(request, who)
            except REFUSALS as exc:
                status, message = refusal(exc)
                retry = exc.retry_after if isinstance(exc, ApiError) else None
                headers = {"Retry-After": str(retry)} if retry is not None else None
                details = exc.details if isinstance(exc, ApiError) else {}
                return JSONResponse(
                    {"error": message, **details}, status_code=status, headers=headers
                )

        return Route(path, run, methods=[method])

    routes = [
        route("/api/v1/jobs", "POST", submit),
        route("/api/v1/jobs", "GET", list_jobs),
        route("/api/v1/jobs/batch", "POST", submit_batch),
        route("/api/v1/jobs/purge", "POST", purge),
        route("/api/v1/jobs/cancel", "POST", cancel_many),
        route("/api/v1/jobs/status", "POST", get_jobs),
        route("/api/v1/jobs/{job_id}", "GET", get_job),
        route("/api/v1/jobs/{job_id}", "DELETE", delete),
        route("/api/v1/jobs/{job_id}/cancel", "POST", cancel),
        route("/api/v1/jobs/{job_id}/retry", "POST", retry),
        route("/api/v1/jobs/{job_id}/logs", "GET", logs_endpoint(api)),
        route("/api/v1/stats", "GET", stats),
        route("/api/v1/workers", "GET", workers),
        route("/api/v1/cluster", "GET", cluster),
        route("/api/v1/limits", "GET", limits),
        route("/api/v1/limits/{type}", "PUT", set_limit),
        route("/api/v1/limits/{type}", "DELETE", clear_limit),
        route("/api/v1/types/{type}/pause", "POST", pause_type),
        route("/api/v1/types/{type}/resume", "POST", resume_type),
        *schedule_routes(route, api),
        *event_routes(route, api),
        *ui_routes(route, gateway),
        route("/health", "GET", health),
        route("/ready", "GET", ready),
        route("/metrics", "GET", metrics),
        route("/auth/login", "POST", login),
        route("/openapi.json", "GET", openapi),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"no such endpoint: {request.url.path}"}, status_code=404)

    async def wrong_method(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": f"{request.method} is not allowed on {request.url.path}"},
            status_code=405,
            headers={"Allow": ", ".join(allowed_methods(routes, request.scope))},
        )

    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: wrong_method},
        middleware=[Middleware(BodyDeadline, timeout_s=gateway.body_timeout_s)],
    )
