"""Wire messages used only by the transport tests."""

from __future__ import annotations

from attrs import frozen

from transport.codec import Message, message


@message("ttest.note")
@frozen
class Note(Message):
    n: int
    text: str
