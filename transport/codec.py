"""The one wire codec: attrs messages <-> msgpack bytes, through cattrs.

Every message class is registered under a short string tag with
:func:`message`. A frame body is the msgpack array
``[PROTOCOL_VERSION, tag, fields]`` where ``fields`` is the message
unstructured *as a tuple* (positional, no field names on the wire: smaller and
faster than maps, and the protocol version covers schema changes).

The converter's hooks for message classes are functions built once per class
from its field types (see "per-class functions" below), so encoding and
decoding a message costs a few calls per field rather than a walk through
cattrs' generic dispatch.

Decoding is strict. Peers are not trusted, so a wrong version, an unknown tag,
a missing field or a value of the wrong primitive type is a
:class:`DecodeError` rather than something cattrs quietly coerces (its default
``str`` hook would turn ``5`` into ``"5"``). A field annotated with the
:class:`Message` base class carries any registered message, written as
``[tag, fields]``; that is how an envelope holds its body.
"""

from __future__ import annotations

import operator
import threading
import types
from collections.abc import Callable
from typing import Any, TypeVar, Union, cast, get_args, get_origin

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
    return [tag, _unstructurer(cls)(msg)]


def _structure_any_message(value: Any, _: Any) -> Message:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise DecodeError("a nested message must be [tag, fields]")
    tag, fields = value
    return _structure_tagged(tag, fields)


# -- per-class functions ----------------------------------------------------------------
#
# cattrs' tuple strategy walks every field of every message through its generic
# dispatch; the leader encodes every proposal and a follower decodes every entry,
# so that walk was the largest single cost of a busy master. For each registered
# class the codec builds, once, a structure and an unstructure function from its
# field types (the few kinds messages use: builtins, optionals, tuples, nested
# messages), registers them with the converter, and calls them directly; any
# other field type still goes through cattrs.

Convert = Callable[[Any], Any]
_structurers: dict[type[Any], Convert] = {}
_unstructurers: dict[type[Any], Convert] = {}


def _exact_check(kind: type[Any]) -> Convert:
    name = kind.__name__

    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise DecodeError(f"expected {name}, got {type(value).__name__}")
        return value

    return check


def _float_check(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)
    raise DecodeError(f"expected float, got {kind.__name__}")


def _optional_inner(t: Any) -> Any | None:
    """``X`` for ``X | None``, else None."""
    if get_origin(t) in (Union, types.UnionType):
        args = get_args(t)
        if len(args) == 2 and type(None) in args:
            return args[0] if args[1] is type(None) else args[1]
    return None


def _field_structurer(t: Any) -> Convert:
    if t in (str, int, bool, bytes):
        return _exact_check(t)
    if t is float:
        return _float_check
    if t is Message:
        return lambda value: _structure_any_message(value, None)
    inner = _optional_inner(t)
    if inner is not None:
        convert = _field_structurer(inner)
        return lambda value: None if value is None else convert(value)
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _field_structurer(args[0])

        def sequence(value: Any) -> tuple[Any, ...]:
            if type(value) is not list and type(value) is not tuple:
                raise DecodeError(f"expected an array, got {type(value).__name__}")
            return tuple([item(x) for x in value])

        return sequence
    if isinstance(t, type) and t in _tag_of:
        return lambda value: _structurer(t)(value)
    return lambda value: _converter.structure(value, t)


def _structurer(cls: type[Any]) -> Convert:
    found = _structurers.get(cls)
    if found is not None:
        return found
    fields = attrs.fields(cls)
    converts = [_field_structurer(f.type) for f in fields]
    pairs = len(converts)
    # fields appended later come with defaults, so entries written before them (in a
    # Raft log on disk) still decode: the missing tail takes its defaults
    required = sum(1 for f in fields if f.default is attrs.NOTHING)

    def structure(values: Any) -> Any:
        if type(values) is not list and type(values) is not tuple:
            raise DecodeError("a message's fields must be an array")
        if not required <= len(values) <= pairs:
            raise DecodeError(f"expected {pairs} fields, got {len(values)}")
        return cls(*[convert(v) for convert, v in zip(converts, values, strict=False)])

    _structurers[cls] = structure
    return structure


def _field_unstructurer(t: Any) -> Convert | None:
    """None when the value goes to msgpack as it is."""
    if t in (str, int, bool, bytes, float):
        return None
    if t is Message:
        return _unstructure_any_message
    inner = _optional_inner(t)
    if inner is not None:
        convert = _field_unstructurer(inner)
        if convert is None:
            return None
        return lambda value: None if value is None else convert(value)
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _field_unstructurer(args[0])
        if item is None:
            return None
        return lambda value: [item(x) for x in value]
    if isinstance(t, type) and t in _tag_of:
        return lambda value: _unstructurer(t)(value)
    return lambda value: _converter.unstructure(value, t)


def _unstructurer(cls: type[Any]) -> Convert:
    found = _unstructurers.get(cls)
    if found is not None:
        return found
    fields = attrs.fields(cls)
    names = [f.name for f in fields]
    converts = [_field_unstructurer(f.type) for f in fields]
    unstructure: Convert
    if not names:
        unstructure = lambda value: ()  # noqa: E731
    elif all(c is None for c in converts):
        get = operator.attrgetter(*names)
        unstructure = get if len(names) > 1 else lambda value: (get(value),)
    else:
        plan = list(zip(names, converts, strict=True))

        def unstructure(value: Any) -> list[Any]:
            return [
                getattr(value, name) if convert is None else convert(getattr(value, name))
                for name, convert in plan
            ]

    _unstructurers[cls] = unstructure
    return unstructure


# predicate hooks, not class hooks: a class hook would also match every subclass
# (cattrs dispatches like singledispatch) and recurse into itself
_converter.register_unstructure_hook_func(lambda t: t is Message, _unstructure_any_message)
_converter.register_structure_hook_func(lambda t: t is Message, _structure_any_message)
_converter.register_unstructure_hook_func(
    lambda t: t in _tag_of, lambda value: _unstructurer(type(value))(value)
)
_converter.register_structure_hook_func(
    lambda t: t in _tag_of, lambda value, t: _structurer(t)(value)
)


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
    try:
        return _structurer(cls)(fields)  # type: ignore[no-any-return]
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
