"""The native protocol's operations for job-type control and bulk cancels.

Each stands for one HTTP route and carries what that request carries: a body
as msgpack of the JSON object the route takes (checked by the same
validation), a type as its path names it. See :mod:`transport.client_wire`.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = [
    "CancelManyOp",
    "ClearLimitOp",
    "LimitsOp",
    "PauseTypeOp",
    "ResumeTypeOp",
    "SetLimitOp",
]


@message("n.limit-set")
@frozen
class SetLimitOp(Message):
    """``PUT /api/v1/limits/{type}``; ``body``: msgpack of its JSON object."""

    type: str
    body: bytes


@message("n.limit-clear")
@frozen
class ClearLimitOp(Message):
    type: str


@message("n.limits")
@frozen
class LimitsOp(Message):
    stale: bool


@message("n.type-pause")
@frozen
class PauseTypeOp(Message):
    """``POST /api/v1/types/{type}/pause``."""

    type: str


@message("n.type-resume")
@frozen
class ResumeTypeOp(Message):
    """``POST /api/v1/types/{type}/resume``."""

    type: str


@message("n.cancel-many")
@frozen
class CancelManyOp(Message):
    """``POST /api/v1/jobs/cancel``; ``body``: msgpack of its JSON object."""

    body: bytes
