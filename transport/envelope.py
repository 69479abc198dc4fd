"""The messages the runtime itself puts on the wire.

Every actor message travels inside an :class:`Envelope` that names the sending
actor, the receiving actor and, for ``ask``, a correlation id. Transports move
envelopes between nodes and know nothing else about actors.
"""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message


@message("env")
@frozen
class Envelope(Message):
    src_node: str
    src_name: str
    dst_name: str
    # 0 for a plain send; otherwise the correlation id of an ask or its reply
    corr: int
    reply: bool
    body: Message


@message("hello")
@frozen
class Hello(Message):
    """First frame on every TCP connection: who is calling, so the link can be reused.
    ``instance`` is drawn once per process, so two processes given one node id differ."""

    node: str
    instance: str = ""


@message("refused")
@frozen
class Refused(Message):
    """Sent before closing a connection that claims a node id another live process holds;
    ``holder`` is that process's address."""

    node: str
    holder: str


@message("ask-failed")
@frozen
class AskFailed(Message):
    """Reply sent instead of an answer when the target is missing or its handler raised."""

    reason: str


@message("ack")
@frozen
class Ack(Message):
    """The reply to an ask whose handler had nothing to return."""
