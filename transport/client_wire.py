"""The native client protocol: what a Python client and a master's gateway say to each other.

A client dials a master's cluster port (the ``--listen`` address, the one the
masters and workers already use) and speaks the cluster's framing: 4-byte
length, msgpack ``[version, tag, fields]``, through the project codec. The
master opens every accepted connection with its :class:`~transport.envelope.Hello`
as it does for peers; the client's first frame is :class:`ClientHello` instead
of a ``Hello``, which is how the transport tells a client from a peer and
hands the stream to the gateway. The gateway answers :class:`ClientWelcome`,
or :class:`ClientError` with request id 0 (a bad token, a version it does not
speak) and closes.

After the welcome the client sends :class:`ClientRequest` frames, each with a
request id of its choosing and one operation (the ``*Op`` classes below, one
per API call), as many at once as it likes; the gateway runs them
concurrently and answers each, in whatever order they finish, with
:class:`ClientReply` (a msgpack value), :class:`ClientJsonReply` (a JSON view
the master rendered, passed through unparsed) or :class:`ClientError` (the
HTTP status and message the HTTP API would give). The values are the same
shapes as the HTTP API's JSON bodies, so one client turns either into the
same result.

Operations carry what an HTTP request carries, in the same form where it
matters: a job or a purge is a msgpack map with the JSON body's fields (the
gateway checks it with the same validation functions), and times are the
strings a query string would hold (the server's one parser reads them).
"""

from __future__ import annotations

import attrs
from attrs import frozen

from transport.codec import Message, message

# bumped when an operation changes shape; a client of a version the gateway does not speak
# is refused at the hello (2: a submit says whether its key is fresh)
CLIENT_PROTOCOL = 2
CLIENT_PROTOCOLS_SPOKEN = (1, 2)
# how the Python client's own idempotency keys start (a key it made for one call)
AUTO_KEY_PREFIX = "auto-"

__all__ = [
    "AUTO_KEY_PREFIX",
    "CLIENT_PROTOCOL",
    "CLIENT_PROTOCOLS_SPOKEN",
    "CancelOp",
    "ClientError",
    "ClientHello",
    "ClientJsonReply",
    "ClientReply",
    "ClientRequest",
    "ClientWelcome",
    "ClusterOp",
    "DeleteOp",
    "GetManyOp",
    "GetOp",
    "ListOp",
    "PurgeOp",
    "RetryOp",
    "StatsOp",
    "SubmitBatchOp",
    "SubmitOp",
    "WorkersOp",
    "resent",
]


@message("n.hello")
@frozen
class ClientHello(Message):
    """A client's first frame: its protocol version and bearer token ("" for none)."""

    version: int
    token: str


@message("n.welcome")
@frozen
class ClientWelcome(Message):
    """The gateway accepted the hello; ``node`` is the master that answered."""

    node: str


@message("n.request")
@frozen
class ClientRequest(Message):
    """One call: ``rid`` (non-zero, the client's own numbering) comes back on its answer."""

    rid: int
    op: Message


@message("n.reply")
@frozen
class ClientReply(Message):
    """A successful answer; ``value`` is msgpack of what the HTTP API sends as JSON."""

    rid: int
    value: bytes


@message("n.json-reply")
@frozen
class ClientJsonReply(Message):
    """A successful answer that the master rendered as JSON (a job, a page, stats)."""

    rid: int
    json: bytes


@message("n.error")
@frozen
class ClientError(Message):
    """A refused call (``rid`` 0: the hello was refused and the connection closes)."""

    rid: int
    status: int
    message: str


# -- operations (one per API call) ---------------------------------------------------------


@message("n.submit")
@frozen
class SubmitOp(Message):
    """``job``: msgpack of the job object ``POST /api/v1/jobs`` takes. ``fresh``: its
    idempotency key is one the client made (:data:`AUTO_KEY_PREFIX`) for this call,
    and this is its first sending, so no job can hold it yet: the leader need not look
    it up (see :func:`resent`)."""

    job: bytes
    fresh: bool = False


@message("n.submit-batch")
@frozen
class SubmitBatchOp(Message):
    """``batch``: msgpack of ``{"jobs": [...]}``, as ``POST /api/v1/jobs/batch`` takes."""

    batch: bytes


@message("n.get")
@frozen
class GetOp(Message):
    id: str
    stale: bool


@message("n.get-many")
@frozen
class GetManyOp(Message):
    """The ids ``POST /api/v1/jobs/status`` takes."""

    ids: tuple[str, ...]
    stale: bool


@message("n.list")
@frozen
class ListOp(Message):
    """The query of ``GET /api/v1/jobs``; ``None`` is a parameter left out."""

    status: str | None
    type: str | None
    limit: int
    cursor: str | None
    order: str
    since: str | None
    until: str | None
    stale: bool


@message("n.cancel")
@frozen
class CancelOp(Message):
    id: str


@message("n.retry")
@frozen
class RetryOp(Message):
    id: str


@message("n.delete")
@frozen
class DeleteOp(Message):
    id: str


@message("n.purge")
@frozen
class PurgeOp(Message):
    """``body``: msgpack of the object ``POST /api/v1/jobs/purge`` takes."""

    body: bytes


@message("n.stats")
@frozen
class StatsOp(Message):
    stale: bool


@message("n.workers")
@frozen
class WorkersOp(Message):
    stale: bool


@message("n.cluster")
@frozen
class ClusterOp(Message):
    pass


def resent(op: Message) -> Message:
    """``op`` as sent again after an attempt that may have reached a master: a fresh
    submit's key may name a job by now, so it must be looked up like any other."""
    if isinstance(op, SubmitOp) and op.fresh:
        return attrs.evolve(op, fresh=False)
    return op
