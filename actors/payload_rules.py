"""What the built-in job types accept in their payload, in one place.

The gateway checks a submitted ``shell`` or ``sleep`` job against these rules
and answers 400 naming the field, so a mistake is seen when it is made, not
four failed attempts later; the worker checks again before running (a job
may come from a client that skipped the gateway's rules, or from an older
podium). Other job types are the handlers' own business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["payload_problem"]


def payload_problem(job_type: str, payload: Any) -> str | None:
    """What is wrong with ``payload`` for the built-in ``job_type``, or None."""
    check = _RULES.get(job_type)
    if check is None:
        return None
    if not isinstance(payload, Mapping):
        return f"payload must be a JSON object, got {type(payload).__name__}"
    return check(payload)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shell(payload: Mapping[str, Any]) -> str | None:
    argv, cmd = payload.get("argv"), payload.get("cmd")
    if argv is not None:
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            return (
                'payload.argv must be a non-empty list of strings, e.g. ["echo", "hi"] '
                f"(got {_kind(argv)}; for a command line use payload.cmd)"
            )
    elif cmd is not None:
        if not isinstance(cmd, str) or not cmd:
            return f"payload.cmd must be a non-empty string (got {_kind(cmd)})"
    else:
        return 'a shell job needs payload.argv (["echo", "hi"]) or payload.cmd ("echo hi")'
    env = payload.get("env")
    if env is not None and not (
        isinstance(env, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        return "payload.env must map strings to strings"
    cwd = payload.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        return f"payload.cwd must be a string (got {_kind(cwd)})"
    return None


def _sleep(payload: Mapping[str, Any]) -> str | None:
    seconds = payload.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return f'payload.seconds must be a number >= 0, e.g. {{"seconds": 1.5}} (got {seconds!r})'
    return None


_RULES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "shell": _shell,
    "sleep": _sleep,
}
