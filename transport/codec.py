"""The one wire codec: attrs messages <-> msgpack bytes, through cattrs.

Every message class is registered under a short string tag with
:func:`message`. A frame body is the msgpack array
``[PROTOCOL_VERSION, tag, fields]`` where ``fields`` is the message
unstructured *as a tuple* (positional, no field names on the wire: smaller and
faster than maps, and the protocol version covers schema changes).

Decoding is strict. Peers are not trusted, so a wrong version, an unknown tag,
a missing field or a value of the wrong primitive type is a
:class:`DecodeError` rather than something cattrs quietly coerces (its default
``str`` hook would turn ``5`` into ``"5"``). A field annotated with the
:class:`Message` base class carries any registered message, written as
``[tag, fields]``; that is how an envelope holds its body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs
import cattrs
import msgpack

# 2: heartbeats left the log and finished jobs moved to each master's history
# (new job commands, snapshot chunks); logs and peers of version 1 are refused
PROTOCOL_VERSION = 2

__all__ = [
    "PROTOCOL_VERSION",
    "DecodeError",
    "Message",
    "decode",
    "encode",
    "message",
    "packer",
    "registered_tags",
    "tag_of",
]


class Message:
    """Base class of every wire message; use :func:`message` to register one."""

    __slots__ = ()


class DecodeError(ValueError):
    """The bytes are not a valid message of this protocol version."""


M = TypeVar("M", bound=type[Message])

_by_tag: dict[str, type[Message]] = {}
_tag_of: dict[type[Message], str] = {}

_converter = cattrs.Converter(unstruct_strat=cattrs.UnstructureStrategy.AS_TUPLE)


def _exact(kind: type[Any]) -> Callable[[Any, Any], Any]:
    # msgpack yields exact builtin types, so an exact check also keeps bools out of ints
    def hook(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise DecodeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return hook


def _float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"expected float, got {type(value).__name__}")
    return float(value)


for _kind in (str, int, bool, bytes):
    _converter.register_structure_hook(_kind, _exact(_kind))
_converter.register_structure_hook(float, _float)


def _unstructure_any_message(msg: Message) -> list[Any]:
    cls = type(msg)
    try:
        tag = _tag_of[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a registered message") from None
    return [tag, _converter.unstructure(msg, cls)]


def _structure_any_message(value: Any, _: Any) -> Message:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DecodeError("a nested message must be [tag, fields]")
    tag, fields = value
    return _structure_tagged(tag, fields)


# predicate hooks, not class hooks: a class hook would also match every subclass
# (cattrs dispatches like singledispatch) and recurse into itself
_converter.register_unstructure_hook_func(lambda t: t is Message, _unstructure_any_message)
_converter.register_structure_hook_func(lambda t: t is Message, _structure_any_message)


def message(tag: str) -> Callable[[M], M]:
    """Register an attrs class as a wire message under ``tag``."""

    def register(cls: M) -> M:
        if not hasattr(cls, "__attrs_attrs__"):
            raise TypeError(f"{cls.__name__} must be an attrs class")
        if tag in _by_tag and _by_tag[tag] is not cls:
            raise ValueError(f"tag {tag!r} is already used by {_by_tag[tag].__name__}")
        attrs.resolve_types(cast(Any, cls))
        _by_tag[tag] = cls
        _tag_of[cls] = tag
        return cls

    return register


def tag_of(cls: type[Message]) -> str:
    return _tag_of[cls]


def registered_tags() -> dict[str, type[Message]]:
    return dict(_by_tag)


def _structure_tagged(tag: Any, fields: Any) -> Message:
    if not isinstance(tag, str):
        raise DecodeError("message tag must be a string")
    cls = _by_tag.get(tag)
    if cls is None:
        raise DecodeError(f"unknown message tag {tag!r}")
    if not isinstance(fields, (list, tuple)):
        raise DecodeError(f"{tag}: fields must be an array")
    n_fields = len(cls.__attrs_attrs__)  # type: ignore[attr-defined]
    if len(fields) != n_fields:
        raise DecodeError(f"{tag}: expected {n_fields} fields, got {len(fields)}")
    try:
        return _converter.structure(fields, cls)
    except DecodeError as exc:
        raise DecodeError(f"{tag}: {exc}") from None
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise DecodeError(f"{tag}: cannot structure: {exc}") from None


_local = threading.local()


def packer() -> msgpack.Packer:
    """This thread's msgpack packer: building one per call costs as much as packing."""
    found: msgpack.Packer | None = getattr(_local, "packer", None)
    if found is None:
        found = _local.packer = msgpack.Packer(use_bin_type=True)
    return found


def encode(msg: Message) -> bytes:
    """Serialize a registered message to one frame body."""
    tag, fields = _unstructure_any_message(msg)
    packed: bytes = packer().pack([PROTOCOL_VERSION, tag, fields])
    return packed


def decode(data: bytes) -> Message:
    """Parse one frame body; raises :class:`DecodeError` on anything invalid."""
    try:
        obj = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types for garbage
        raise DecodeError(f"not msgpack: {exc}") from None
    if not isinstance(obj, list) or len(obj) != 3:
        raise DecodeError("a frame must be [version, tag, fields]")
    version, tag, fields = obj
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise DecodeError(f"unsupported protocol version {version!r} (speaking {PROTOCOL_VERSION})")
    return _structure_tagged(tag, fields)
