"""Wire messages used only by the simulator tests."""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message


@message("simtest.ping")
@frozen
class Ping(Message):
    n: int


@message("simtest.pong")
@frozen
class Pong(Message):
    n: int


@message("simtest.boom")
@frozen
class Boom(Message):
    reason: str
