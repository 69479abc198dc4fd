"""The OpenAPI 3.1 document served at ``/openapi.json``.

Written by hand next to the routes rather than generated, so it states the
contract (fields, ranges, status codes) the validation enforces; a test
checks that every route the app serves is described here with the same
methods, and the API fuzz test draws its requests from these schemas.
"""

from __future__ import annotations

from typing import Any

from actors.gateway.schedule_validation import NAME
from transport.job_options import PARENT_FAILURE_RULES
from transport.schedule_commands import CATCH_UP_RULES

__all__ = ["CURSOR_PATTERN", "OPENAPI"]

_ERROR = {"$ref": "#/components/schemas/Error"}
# the cursors the server hands out (at most 15 hex digits: a seq the log can hold), or an
# empty one; the gateway checks cursors against this same pattern
CURSOR_PATTERN = "^(s[0-9a-f]{1,15})?$"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A required JSON request body of ``schema``."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input: malformed JSON, a wrong type, a value out of range, an unknown field",
        401: "No token, or a forged or expired one (when auth is on)",
        403: "The user's role may not do this",
        404: "No such job",
        408: "The body did not arrive in full within http.body_timeout_s (default 30 s); "
        "the connection is closed",
        409: "The job is not in a state that allows this",
        413: "The body is over the size limit (default 1 MiB)",
        503: "No leader right now, or the write could not be confirmed in time; retry",
    }
    return {str(code): _json(_ERROR, text[code]) for code in codes}


# GET /api/v1/events (see actors.gateway.events_api)
EVENTS: dict[str, Any] = {
    "summary": "Live events as server-sent events: jobs submitted, started, progress, "
    "finished, retried, dead; workers joined, lost, left, draining; leader changed",
    "description": 'Each event has an id ("<log index>-<n>", or "<index>-s<n>" for '
    "events not in the log), an event type, and JSON data. Send the last id seen as "
    "Last-Event-ID (or ?last_event_id=) to resume, on any master, without a gap or a "
    "repeat for events still retained (http.events_retained); a stream.gap event says "
    "some may be gone.",
    "parameters": [
        {
            "name": "type",
            "in": "query",
            "description": "comma-separated event types (job.finished) or families (job, "
            "worker, leader)",
            "schema": {"type": "string"},
        },
        {"name": "job", "in": "query", "schema": {"type": "string"}},
        {"name": "status", "in": "query", "schema": {"type": "string"}},
        {"name": "last_event_id", "in": "query", "schema": {"type": "string"}},
        {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
    ],
    "responses": {
        "200": {
            "description": "An endless event stream",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **_errors(400, 401, 403, 503),
    },
}


_STALE = {
    "name": "stale",
    "in": "query",
    "required": False,
    "description": "true: this master answers from its own copy (may lag); "
    "default: a linearizable read on the leader",
    "schema": {"type": "boolean", "default": False},
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

_DEPENDENCY_FIELDS: dict[str, Any] = {
    "depends_on": {
        "description": "ids of jobs this one waits for (status blocked) until each is final; "
        'in a batch also "ref:<name>" of a sibling. An unknown id is a 400',
        "type": ["array", "null"],
        "maxItems": 1000,
        "items": {"type": "string", "minLength": 1},
    },
    "on_parent_failure": {
        "description": "when a parent ends other than succeeded: fail (the job ends dead, or "
        "failed, reason parent_failed), skip (cancelled, reason parent_failed), run (anyway)",
        "type": "string",
        "enum": list(PARENT_FAILURE_RULES),
        "default": "fail",
    },
}
_JOB_SUBMIT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "minLength": 1, "maxLength": 200},
        "payload": {"type": ["object", "null"]},
        "priority": {"type": "integer", "minimum": 0, "maximum": 9, "default": 5},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 3},
        "timeout_s": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "delay_s": {"type": ["number", "null"], "minimum": 0},
        "run_at": {
            "description": "epoch seconds, or ISO 8601 with a time zone; not with delay_s",
            "type": ["number", "string", "null"],
        },
        "idempotency_key": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
        "unique_key": {
            "description": "at most one pending, scheduled, blocked or running job holds this "
            "key: a submit while one does returns that job (200, deduplicated: true)",
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 200,
        },
        "retry": {
            "description": "this job's retry policy over the cluster's; a failure whose exit "
            "code is in no_retry_exit_codes (or a handler raising podium.Permanent) ends the "
            "job at once",
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "max_retries": {"type": "integer", "minimum": 0, "maximum": 1000},
                "base_s": {"type": "number", "minimum": 0},
                "multiplier": {"type": "number", "minimum": 1},
                "cap_s": {"type": "number", "minimum": 0},
                "jitter": {"type": "number", "minimum": 0, "maximum": 1},
                "no_retry_exit_codes": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": -255, "maximum": 255},
                },
            },
        },
        **_DEPENDENCY_FIELDS,
    },
}
# a batch's job may name itself, for its siblings' depends_on ("ref:<name>")
_BATCH_JOB: dict[str, Any] = {
    **_JOB_SUBMIT,
    "properties": {
        **_JOB_SUBMIT["properties"],
        "ref": {
            "description": "this job's name in the batch; a sibling's depends_on names it "
            'as "ref:<name>". Unique in the batch; references must make no cycle',
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 200,
        },
    },
}
_STATUS = {
    "type": "string",
    "enum": [
        "pending",
        "scheduled",
        "blocked",
        "running",
        "succeeded",
        "failed",
        "dead",
        "cancelled",
    ],
}
_ACCEPTED = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "string"},
        "status": _STATUS,
        "deduplicated": {
            "description": "true: a live job already held the unique_key; this is that job",
            "type": "boolean",
        },
    },
}

_DELETED = {
    "type": "object",
    "required": ["deleted"],
    "properties": {"deleted": {"type": "integer", "minimum": 0}},
}

# -- schedules -------------------------------------------------------------------------

_SCHEDULE_NAME = {"type": "string", "pattern": f"^{NAME.pattern}$"}
_SCHEDULE_PARAM = {"name": "name", "in": "path", "required": True, "schema": _SCHEDULE_NAME}
_CATCH_UP = {
    "description": "ticks missed while no leader could fire them: skip (dropped; the latest "
    "fires if at most 60 s late), one (one job for them all), all (one job each, the "
    "latest 100)",
    "type": "string",
    "enum": list(CATCH_UP_RULES),
    "default": "skip",
}
_SCHEDULE_SUBMIT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "job"],
    "properties": {
        "name": _SCHEDULE_NAME,
        "cron": {
            "description": "5 fields (minute first) or 6 (seconds first); not with every_s",
            "type": ["string", "null"],
        },
        "every_s": {
            "description": "a period: ticks at its multiples since the Unix epoch; not with cron",
            "type": ["number", "null"],
            "minimum": 1,
        },
        "job": {
            "description": "the job each tick makes, as POST /api/v1/jobs takes it, without "
            "delay_s, run_at, idempotency_key or depends_on",
            "$ref": "#/components/schemas/JobSubmit",
        },
        "timezone": {"type": "string", "default": "UTC"},
        "catch_up": _CATCH_UP,
        "paused": {"type": "boolean", "default": False},
    },
}
_SCHEDULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "cron": {"type": ["string", "null"]},
        "every_s": {"type": ["number", "null"]},
        "timezone": {"type": "string"},
        "catch_up": {"type": "string", "enum": list(CATCH_UP_RULES)},
        "paused": {"type": "boolean"},
        "job": {"type": "object"},
        "next_run_at": {"type": ["number", "null"]},
        "last_fired": {"description": "the last tick fired", "type": ["number", "null"]},
        "last_job": {"type": ["string", "null"]},
        "fired": {
            "description": "ticks fired (each made a job, or found the live one holding the "
            "job's unique_key)",
            "type": "integer",
        },
        "created_at": {"type": "number"},
        "updated_at": {"type": "number"},
    },
}
_SCHEDULE_REF = {"$ref": "#/components/schemas/Schedule"}
_NO_SCHEDULE = {"404": _json(_ERROR, "No such schedule")}


def _change(
    summary: str, param: dict[str, Any], now: dict[str, Any], says: str, **more: Any
) -> dict[str, Any]:
    """A POST on a named thing (a schedule, a job type) that answers with it as it now is;
    ``more``: other responses, by status."""
    return {
        "summary": summary,
        "security": _BEARER,
        "parameters": [param],
        "responses": {"200": _json(now, says), **_errors(401, 403, 503), **more},
    }


def _schedule_change(summary: str) -> dict[str, Any]:
    return _change(summary, _SCHEDULE_PARAM, _SCHEDULE_REF, "The schedule now", **_NO_SCHEDULE)


_TYPE = {"name": "type", "in": "path", "required": True, "schema": {"type": "string"}}
_TYPE_CONTROL = {
    "type": "object",
    "description": "a limited or paused job type: its limit, its bucket's tokens now, and "
    "how many of its pending jobs the limit or pause holds back (throttled)",
    "properties": {
        "type": {"type": "string"},
        "rate_per_s": {"type": ["number", "null"]},
        "burst": {"type": ["number", "null"]},
        "max_running": {"type": ["integer", "null"]},
        "paused": {"type": "boolean"},
        "tokens": {"type": ["number", "null"]},
        "running": {"type": "integer"},
        "pending": {"type": "integer"},
        "throttled": {"type": "integer"},
    },
}
_NO_TYPE = {"404": _json(_ERROR, "The type has no limit")}


def _type_change(summary: str) -> dict[str, Any]:
    return _change(summary, _TYPE, _TYPE_CONTROL, "The type now")


# limits, pauses and the bulk cancel
_CONTROL_PATHS: dict[str, Any] = {
    "/api/v1/jobs/cancel": {
        "post": {
            "summary": "Cancel live jobs in bulk: by ids, or by filters evaluated as the "
            "cancel applies",
            "security": _BEARER,
            "requestBody": _json_body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "ids, or at least one filter (all must match); not both",
                    "properties": {
                        "ids": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 10000,
                            "items": {"type": "string", "minLength": 1},
                        },
                        "type": {"type": "string", "minLength": 1},
                        "status": {
                            "description": "pending, scheduled, blocked or running, or a list",
                            "type": ["string", "array"],
                            "items": {"type": "string"},
                        },
                        "schedule": {"type": "string", "minLength": 1},
                    },
                }
            ),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["cancelled"],
                        "properties": {"cancelled": {"type": "integer", "minimum": 0}},
                    },
                    "How many live jobs were cancelled",
                ),
                **_errors(400, 401, 403, 408, 413, 503),
            },
        }
    },
    "/api/v1/limits": {
        "get": {
            "summary": "Every limited or paused job type",
            "security": _BEARER,
            "parameters": [_STALE],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"limits": {"type": "array", "items": _TYPE_CONTROL}},
                    },
                    "The types, by name",
                ),
                **_errors(400, 401, 403, 503),
            },
        }
    },
    "/api/v1/limits/{type}": {
        "put": {
            "summary": "Limit a job type across the cluster (admin); replaces its limit",
            "security": _BEARER,
            "parameters": [_TYPE],
            "requestBody": _json_body(
                {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "at least one field; burst needs rate_per_s (default: "
                    "a second's worth, at least 1)",
                    "properties": {
                        "rate_per_s": {"type": ["number", "null"], "minimum": 0.001},
                        "burst": {"type": ["number", "null"], "minimum": 1},
                        "max_running": {"type": ["integer", "null"], "minimum": 1},
                    },
                }
            ),
            "responses": {
                "200": _json(_TYPE_CONTROL, "The type with its limit"),
                **_errors(400, 401, 403, 408, 413, 503),
            },
        },
        "delete": {
            "summary": "Remove a job type's limit (admin)",
            "security": _BEARER,
            "parameters": [_TYPE],
            "responses": {
                "200": _json(_TYPE_CONTROL, "The type without its limit"),
                **_errors(401, 403, 503),
                **_NO_TYPE,
            },
        },
    },
    "/api/v1/types/{type}/pause": {
        "post": _type_change("Pause a job type (admin): its jobs stay pending, running ones finish")
    },
    "/api/v1/types/{type}/resume": {"post": _type_change("Resume a paused job type (admin)")},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "podium",
        "version": "1",
        "description": "A distributed job scheduler: submit jobs to any master.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
            "JobSubmit": _JOB_SUBMIT,
            "ScheduleSubmit": _SCHEDULE_SUBMIT,
            "Schedule": _SCHEDULE,
            "BatchJob": _BATCH_JOB,
            "Accepted": _ACCEPTED,
            "Job": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "status": _STATUS,
                    "payload": {},
                    "priority": {"type": "integer"},
                    "max_retries": {"type": "integer"},
                    "timeout_s": {"type": ["number", "null"]},
                    "run_at": {"type": ["number", "null"]},
                    "idempotency_key": {"type": ["string", "null"]},
                    "attempts": {"type": "integer"},
                    "worker": {"type": ["string", "null"]},
                    "result": {},
                    "error": {"type": ["string", "null"]},
                    "last_reason": {"type": ["string", "null"]},
                    "created_at": {"type": "number"},
                    "started_at": {"type": ["number", "null"]},
                    "finished_at": {"type": ["number", "null"]},
                    "updated_at": {"type": "number"},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "on_parent_failure": {"type": "string", "enum": list(PARENT_FAILURE_RULES)},
                    "children": {
                        "description": "jobs that depend on this one, live or final, in "
                        "submission order (the first 1,000); GET /api/v1/jobs/{job_id} only",
                        "type": "array",
                        "items": {"type": "string"},
                    },
                    "unique_key": {"type": ["string", "null"]},
                    "retry": {
                        "description": "the job's own retry policy, or null (the cluster's)",
                        "type": ["object", "null"],
                    },
                    "schedule": {
                        "description": "the schedule whose tick made this job, or null",
                        "type": ["string", "null"],
                    },
                    "scheduled_for": {
                        "description": "that tick's time (epoch seconds), or null",
                        "type": ["number", "null"],
                    },
                    "owner": {
                        "description": "who submitted it (a schedule's jobs: who defined the "
                        "schedule); null with auth off. With auth on a user sees, lists and "
                        "cancels only their own jobs (another's is a 404), an admin all",
                        "type": ["string", "null"],
                    },
                    "attempts_log": {
                        "description": "earlier attempts that failed, oldest first (the last 10)",
                        "type": "array",
                        "items": {"type": "object"},
                    },
                    "progress": {
                        "description": "what the running attempt's handler last reported with "
                        "ctx.progress (0..1), or null; live jobs only",
                        "type": ["number", "null"],
                    },
                    "progress_message": {
                        "description": "the message that came with progress, or null",
                        "type": ["string", "null"],
                    },
                },
            },
        },
    },
    "paths": {
        "/api/v1/jobs": {
            "post": {
                "summary": "Submit a job",
                "security": _BEARER,
                "requestBody": _json_body({"$ref": "#/components/schemas/JobSubmit"}),
                "responses": {
                    "201": _json({"$ref": "#/components/schemas/Accepted"}, "Committed"),
                    **_errors(400, 401, 403, 408, 413, 503),
                },
            },
            "get": {
                "summary": "List jobs, live and finished, newest first, filtered, a page at a time",
                "security": _BEARER,
                "parameters": [
                    {"name": "status", "in": "query", "schema": _STATUS},
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "the previous page's cursor, as it came (empty or "
                        "absent: the first page); anything else is a 400",
                        "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                    },
                    {
                        "name": "order",
                        "in": "query",
                        "description": "desc: newest first (default); asc: oldest first",
                        "schema": {"type": "string", "enum": ["desc", "asc"]},
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "description": "created at or after: epoch seconds or ISO 8601",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "until",
                        "in": "query",
                        "description": "created before: epoch seconds or ISO 8601",
                        "schema": {"type": "string"},
                    },
                    _STALE,
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "jobs": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Job"},
                                },
                                "cursor": {"type": ["string", "null"]},
                            },
                        },
                        "A page of jobs; cursor is null on the last page",
                    ),
                    **_errors(400, 401, 403, 503),
                },
            },
        },
        "/api/v1/jobs/batch": {
            "post": {
                "summary": "Submit up to 10,000 jobs in one committed write; jobs may depend "
                'on each other by ref ("depends_on": ["ref:<name>"]), so a chain or a '
                "fan-out/fan-in is one atomic request",
                "security": _BEARER,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["jobs"],
                        "properties": {
                            "jobs": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10000,
                                "items": {"$ref": "#/components/schemas/BatchJob"},
                            }
                        },
                    }
                ),
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "jobs": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Accepted"},
                                }
                            },
                        },
                        "Committed, in request order",
                    ),
                    **_errors(400, 401, 403, 408, 413, 503),
                },
            }
        },
        "/api/v1/jobs/purge": {
            "post": {
                "summary": "Remove the records of final jobs matching the filters (admin)",
                "security": _BEARER,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "status": {
                                "description": "a final status or a list of them "
                                "(default: every final status)",
                                "type": ["string", "array"],
                                "items": {"type": "string"},
                            },
                            "type": {"type": "string", "minLength": 1},
                            "before": {
                                "description": "finished before: epoch seconds or "
                                "ISO 8601 (a bare date is midnight UTC)",
                                "type": ["number", "string"],
                            },
                        },
                    }
                ),
                "responses": {
                    "200": _json(_DELETED, "Removed"),
                    **_errors(400, 401, 403, 408, 413, 503),
                },
            }
        },
        "/api/v1/jobs/status": {
            "post": {
                "summary": "Many jobs in one read (live or finished), as a waiting client "
                "polls them",
                "security": _BEARER,
                "parameters": [_STALE],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["ids"],
                        "properties": {
                            "ids": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10000,
                                "items": {"type": "string", "minLength": 1},
                            }
                        },
                    }
                ),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["jobs", "missing"],
                            "properties": {
                                "jobs": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Job"},
                                },
                                "missing": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "The jobs found, in the order asked (a repeated id once), and the ids "
                        "of no job",
                    ),
                    **_errors(400, 401, 403, 408, 413, 503),
                },
            }
        },
        "/api/v1/jobs/{job_id}": {
            "get": {
                "summary": "One job, live or finished, with its depends_on and children",
                "security": _BEARER,
                "parameters": [_JOB_ID, _STALE],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Job"}, "The job"),
                    **_errors(400, 401, 403, 404, 503),
                },
            },
            "delete": {
                "summary": "Remove a final job's record (admin); 409 while it is not final",
                "security": _BEARER,
                "parameters": [_JOB_ID],
                "responses": {
                    "200": _json(_DELETED, "Removed"),
                    **_errors(400, 401, 403, 404, 409, 503),
                },
            },
        },
        "/api/v1/jobs/{job_id}/cancel": {
            "post": {
                "summary": "Cancel a pending, scheduled or running job",
                "security": _BEARER,
                "parameters": [_JOB_ID],
                "responses": {
                    "200": _json(_ACCEPTED, "Cancelled"),
                    **_errors(400, 401, 403, 404, 409, 503),
                },
            }
        },
        "/api/v1/jobs/{job_id}/retry": {
            "post": {
                "summary": "Requeue a dead or failed job (admin)",
                "security": _BEARER,
                "parameters": [_JOB_ID],
                "responses": {
                    "200": _json(_ACCEPTED, "Back in the queue"),
                    **_errors(400, 401, 403, 404, 409, 503),
                },
            }
        },
        "/api/v1/jobs/{job_id}/logs": {
            "get": {
                "summary": "What an attempt printed and logged (head and tail when over "
                "log_max_bytes); the attempt read is in the Podium-Attempt header",
                "security": _BEARER,
                "parameters": [
                    _JOB_ID,
                    {
                        "name": "attempt",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1},
                        "description": "the attempt to read (default: the latest)",
                    },
                    {
                        "name": "follow",
                        "in": "query",
                        "schema": {"type": "boolean", "default": False},
                        "description": "stream the output as it is written, until the attempt ends",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The output as written",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
        "/api/v1/stats": {
            "get": {
                "summary": "Counts by status and type, queue depth, dead letters, retries",
                "security": _BEARER,
                "parameters": [_STALE],
                "responses": {
                    "200": _json({"type": "object"}, "Stats"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/api/v1/workers": {
            "get": {
                "summary": "Workers: state, slots, running jobs, last heartbeat, types (admin)",
                "security": _BEARER,
                "parameters": [_STALE],
                "responses": {
                    "200": _json({"type": "object"}, "Workers"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/api/v1/cluster": {
            "get": {
                "summary": "This master's view: leader, term, masters (admin)",
                "security": _BEARER,
                "responses": {
                    "200": _json({"type": "object"}, "Cluster"),
                    **_errors(401, 403, 503),
                },
            }
        },
        "/api/v1/cluster/masters": {
            "get": {
                "summary": "Every master's own view (role, term, commit and applied index, "
                "ready), asked of each by this master; one that does not answer within 1 s "
                "is listed with reachable: false (admin; the dashboard's cluster panel)",
                "security": _BEARER,
                "responses": {
                    "200": _json({"type": "object"}, "This master and each master's view"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/api/v1/schedules": {
            "post": {
                "summary": "Define a schedule: a job made at every tick, exactly once per tick",
                "security": _BEARER,
                "requestBody": _json_body({"$ref": "#/components/schemas/ScheduleSubmit"}),
                "responses": {
                    "201": _json(_SCHEDULE_REF, "Defined"),
                    "200": _json(_SCHEDULE_REF, "Already defined so (the same definition)"),
                    "409": _json(_ERROR, "The name holds another definition: delete it first"),
                    **_errors(400, 401, 403, 408, 413, 503),
                },
            },
            "get": {
                "summary": "Every schedule, by name",
                "security": _BEARER,
                "parameters": [_STALE],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"schedules": {"type": "array", "items": _SCHEDULE_REF}},
                        },
                        "The schedules",
                    ),
                    **_errors(400, 401, 403, 503),
                },
            },
        },
        "/api/v1/schedules/{name}": {
            "get": {
                "summary": "One schedule: its definition, next run, last fired tick, ticks fired",
                "security": _BEARER,
                "parameters": [_SCHEDULE_PARAM, _STALE],
                "responses": {
                    "200": _json(_SCHEDULE_REF, "The schedule"),
                    **_errors(400, 401, 403, 503),
                    **_NO_SCHEDULE,
                },
            },
            "delete": {
                "summary": "Delete a schedule (the jobs it made stay)",
                "security": _BEARER,
                "parameters": [_SCHEDULE_PARAM],
                "responses": {
                    "200": _json(_DELETED, "Deleted"),
                    **_errors(401, 403, 503),
                    **_NO_SCHEDULE,
                },
            },
        },
        "/api/v1/schedules/{name}/pause": {
            "post": _schedule_change("Pause a schedule: no tick fires until it is resumed")
        },
        "/api/v1/schedules/{name}/resume": {
            "post": _schedule_change(
                "Resume a schedule: ticks from now on fire (those that fell while paused never)"
            )
        },
        "/api/v1/events": {"get": EVENTS},
        "/ui": {
            "get": {
                "summary": "The dashboard (HTML; its data comes from this API with the "
                "user's token)",
                "responses": {
                    "200": {"description": "The page", "content": {"text/html": {}}},
                    **_errors(400),
                },
            }
        },
        "/ui/static/{name}": {
            "get": {
                "summary": "One of the dashboard's scripts or styles",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file"},
                    "404": _json(_ERROR, "No such file"),
                    **_errors(400),
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness",
                "responses": {"200": _json({"type": "object"}, "The node is up")},
            }
        },
        "/ready": {
            "get": {
                "summary": "Readiness: a leader is known and this master has applied all",
                "responses": {
                    "200": _json({"type": "object"}, "Ready"),
                    "503": _json({"type": "object"}, "Not ready"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {"description": "Text exposition format", "content": {"text/plain": {}}}
                },
            }
        },
        "/auth/login": {
            "post": {
                "summary": "Exchange a configured user's password for a JWT",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string"},
                            "password": {"type": "string"},
                        },
                    }
                ),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "token": {"type": "string"},
                                "expires_in": {"type": "number"},
                            },
                        },
                        "A bearer token",
                    ),
                    **_errors(400, 401, 408),
                    "404": _json(_ERROR, "Auth is off on this cluster"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
        **_CONTROL_PATHS,
    },
}
