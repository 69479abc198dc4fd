"""What the log says about the parents of jobs that depend on others.

A job's parents may have left the live table (they are final, in each
master's history) by the time a child is submitted. The state machine must
give the same answer on every master without reading a history, so the
leader looks such parents up in its own history and writes what it found
into the submit (:class:`FinalParent`). A parent that finishes between the
leader's look and the apply is neither live nor written down: the submit then
makes nothing and answers :class:`ParentsMissing`, and the leader looks again.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message

__all__ = ["FinalParent", "ParentsMissing"]


@message("j.final-parent")
@frozen
class FinalParent(Message):
    """A parent that was final when the leader proposed the submit: its status, and its
    result as packed msgpack (None when it is too large to hand to children)."""

    id: str
    status: str
    result: bytes | None


@message("j.parents-missing")
@frozen
class ParentsMissing(Message):
    """The answer of a submit that made nothing: these parents are neither live nor
    known final here (they finished after the leader looked); the leader looks again."""

    ids: tuple[str, ...]
