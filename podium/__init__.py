"""The handler API, under the name people import: ``from podium import handler, Permanent``.

A worker loads a module of handlers with ``--handlers mymodule``::

    from podium import Permanent, handler

    @handler("charge")
    def charge(payload, context):
        if payload["amount"] <= 0:
            raise Permanent("amount must be positive")  # no retry could fix this
        return {"charged": payload["amount"]}

``JobFailed`` fails one attempt with a plain message (the job is retried if it
has retries left); ``Permanent`` fails the job at once. ``context`` is a
``JobContext`` (``job_id``, ``attempt``).
"""

from actors.worker.errors import JobFailed, Permanent
from actors.worker.handlers import JobContext, handler

__all__ = ["JobContext", "JobFailed", "Permanent", "handler"]
