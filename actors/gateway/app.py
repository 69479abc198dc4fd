"""The HTTP API (Starlette), talking to the node's master actor by ``ask``.

Any master serves any request: the local master answers what it can and says
``NotLeader`` for what only the leader may do, and the gateway then forwards
the same request to the leader's master over the cluster transport (one hop,
so a client never has to find the leader itself). Bodies are size-capped
before parsing, and every error is JSON ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.gateway.validation import BadRequest, JobRequest, parse_batch, parse_job
from runtime.errors import AskError, AskTimeout
from runtime.system import ActorSystem
from transport.cluster import (
    CancelJob,
    GetCluster,
    GetJob,
    GetStats,
    GetWorkers,
    JobChanged,
    JobSpec,
    JsonView,
    ListJobs,
    NotLeader,
    RetryJob,
    SubmitJobs,
    Submitted,
    Unavailable,
)
from transport.codec import Message

log = logging.getLogger("podium.gateway")

MASTER = "master"
DEFAULT_MAX_BODY = 1024 * 1024
LIST_LIMIT_MAX = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _spec(job: JobRequest) -> JobSpec:
    return JobSpec(
        type=job.type,
        payload=msgpack.packb(job.payload, use_bin_type=True),
        priority=job.priority,
        max_retries=job.max_retries,
        timeout_s=job.timeout_s,
        run_at=job.run_at,
        idempotency_key=job.idempotency_key,
    )


class Gateway:
    """The app's link to the cluster: one node's actor system and its master."""

    def __init__(
        self,
        system: ActorSystem,
        *,
        timeout_s: float = 10.0,
        max_body: int = DEFAULT_MAX_BODY,
        home: str | None = None,
    ) -> None:
        """``home`` is the master asked first: this node's own, unless it runs none."""
        self.system = system
        self.timeout_s = timeout_s
        self.max_body = max_body
        self.home = home or system.node

    async def call(self, msg: Message, *, forward: bool = True) -> Message:
        """Ask the local master; follow NotLeader to the leader; wait out an election.

        A NotLeader answer means nothing was done, so asking again is safe,
        and the gateway keeps at it until its deadline: during a failover a
        client sees a slower answer rather than an error. A timeout is
        ambiguous (the write may still commit), so it is reported, never
        retried. A leader hint this node cannot reach (a dead leader that the
        followers have not yet given up on) is not waited on either.
        """
        local = self.home
        deadline = trio.current_time() + self.timeout_s
        target = local
        hops = 0
        while True:
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                raise ApiError(503, "no leader is elected right now; retry shortly")
            if hops > 1:
                await trio.sleep(min(0.02 * hops, 0.2, remaining))
            hops += 1
            try:
                answer = await self.system.ref(target, MASTER).ask(msg, remaining)
            except AskTimeout:
                raise ApiError(
                    503, f"master {target} did not answer in time; the request may still apply"
                ) from None
            except AskError as exc:
                raise ApiError(503, f"master {target} failed: {exc}") from None
            if isinstance(answer, Unavailable):
                raise ApiError(503, answer.reason)
            if not isinstance(answer, NotLeader):
                return answer
            if not forward:
                raise ApiError(503, "this master is not the leader")
            hint = answer.leader
            if hint is not None and hint != target and self.system.reachable(hint):
                target = hint
            else:
                target = local
                hops = max(hops, 2)

    async def body(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise ApiError(413, f"request body over the {self.max_body}-byte limit")
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > self.max_body:
                raise ApiError(413, f"request body over the {self.max_body}-byte limit")
        try:
            return json.loads(chunks)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"body is not valid JSON: {exc}") from None


def _view(answer: Message, what: str) -> Response:
    if not isinstance(answer, JsonView):
        raise ApiError(500, f"unexpected answer {type(answer).__name__}")
    if not answer.json:
        raise ApiError(404, f"{what} not found")
    return Response(answer.json, media_type="application/json")


def build_app(gateway: Gateway) -> Starlette:
    async def submit(request: Request) -> Response:
        job = parse_job(await gateway.body(request), gateway.system.wall_clock())
        answer = await gateway.call(SubmitJobs((_spec(job),)))
        assert isinstance(answer, Submitted)
        first = answer.jobs[0]
        return JSONResponse({"id": first.id, "status": first.status}, status_code=201)

    async def submit_batch(request: Request) -> Response:
        jobs = parse_batch(await gateway.body(request), gateway.system.wall_clock())
        answer = await gateway.call(SubmitJobs(tuple(_spec(job) for job in jobs)))
        assert isinstance(answer, Submitted)
        body = {"jobs": [{"id": j.id, "status": j.status} for j in answer.jobs]}
        return JSONResponse(body, status_code=201)

    async def get_job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        return _view(await gateway.call(GetJob(job_id)), f"job {job_id!r}")

    async def list_jobs(request: Request) -> Response:
        query = request.query_params
        unknown = sorted(set(query) - {"status", "type", "limit", "cursor", "stale"})
        if unknown:
            raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
        limit_text = query.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= LIST_LIMIT_MAX:
            raise BadRequest(f"limit must be an integer from 1 to {LIST_LIMIT_MAX}")
        msg = ListJobs(query.get("status"), query.get("type"), int(limit_text), query.get("cursor"))
        return _view(await gateway.call(msg), "page")

    async def change(request: Request, msg: Message) -> Response:
        answer = await gateway.call(msg)
        assert isinstance(answer, JobChanged)
        if answer.not_found:
            raise ApiError(404, f"job {answer.id!r} not found")
        if answer.error:
            raise ApiError(409, answer.error)
        return JSONResponse({"id": answer.id, "status": answer.status})

    async def cancel(request: Request) -> Response:
        return await change(request, CancelJob(request.path_params["job_id"]))

    async def retry(request: Request) -> Response:
        return await change(request, RetryJob(request.path_params["job_id"]))

    async def cluster(request: Request) -> Response:
        return _view(await gateway.call(GetCluster(), forward=False), "cluster")

    async def stats(request: Request) -> Response:
        return _view(await gateway.call(GetStats()), "stats")

    async def workers(request: Request) -> Response:
        return _view(await gateway.call(GetWorkers()), "workers")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "node": gateway.system.node})

    async def ready(request: Request) -> Response:
        answer = await gateway.call(GetCluster(), forward=False)
        assert isinstance(answer, JsonView)
        info = json.loads(answer.json)
        status = 200 if info.get("ready") else 503
        return JSONResponse(
            {"ready": bool(info.get("ready")), "leader": info.get("leader")}, status_code=status
        )

    def guarded(
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await endpoint(request)
            except BadRequest as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except ApiError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)

        return run

    routes = [
        Route("/api/v1/jobs", guarded(submit), methods=["POST"]),
        Route("/api/v1/jobs", guarded(list_jobs), methods=["GET"]),
        Route("/api/v1/jobs/batch", guarded(submit_batch), methods=["POST"]),
        Route("/api/v1/jobs/{job_id}", guarded(get_job), methods=["GET"]),
        Route("/api/v1/jobs/{job_id}/cancel", guarded(cancel), methods=["POST"]),
        Route("/api/v1/jobs/{job_id}/retry", guarded(retry), methods=["POST"]),
        Route("/api/v1/cluster", guarded(cluster), methods=["GET"]),
        Route("/api/v1/stats", guarded(stats), methods=["GET"]),
        Route("/api/v1/workers", guarded(workers), methods=["GET"]),
        Route("/health", guarded(health), methods=["GET"]),
        Route("/ready", guarded(ready), methods=["GET"]),
    ]
    return Starlette(routes=routes)
