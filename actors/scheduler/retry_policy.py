"""A job's own retry policy: its backoff over the cluster's, and failures that end it at once.

A job may carry ``options.retry`` (:class:`~transport.job_options.RetryPolicy`):
any field it sets replaces the cluster's :class:`~actors.scheduler.backoff.Backoff`
value for that job alone. A failure is *permanent*, ending the job at once
whatever retries it has left, when the worker says so (a handler raised
``podium.Permanent``) or when the failed attempt's result carries an
``exit_code`` the policy lists in ``no_retry_exit_codes`` (a shell job's
result does). The exit code is judged here, from the result in the log, not
on the worker: the policy is the job's, which the table holds and the worker
is never sent, and every master reads the same bytes.
"""

from __future__ import annotations

from typing import Any

import attrs
import msgpack

from actors.scheduler.backoff import Backoff
from transport.job_options import JobOptions

__all__ = ["backoff_for", "exit_code_is_final"]


def backoff_for(default: Backoff, options: JobOptions | None) -> Backoff:
    """The backoff for a job with ``options``: the cluster's, with the job's own values."""
    policy = options.retry if options is not None else None
    if policy is None:
        return default
    changes = {
        name: value
        for name in ("base_s", "multiplier", "cap_s", "jitter")
        if (value := getattr(policy, name)) is not None
    }
    return attrs.evolve(default, **changes) if changes else default


def exit_code_is_final(options: JobOptions | None, result: bytes | None) -> bool:
    """Whether a failed attempt's ``result`` has an exit code that ``options`` says must
    not be retried."""
    policy = options.retry if options is not None else None
    if policy is None or not policy.no_retry_exit_codes or not result:
        return False
    try:
        value: Any = msgpack.unpackb(result, raw=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return False
    code = value.get("exit_code") if isinstance(value, dict) else None
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and (code in policy.no_retry_exit_codes)
    )
