"""Wire messages used only by the runtime tests."""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message


@message("test.ping")
@frozen
class Ping(Message):
    n: int


@message("test.pong")
@frozen
class Pong(Message):
    n: int


@message("test.boom")
@frozen
class Boom(Message):
    reason: str
