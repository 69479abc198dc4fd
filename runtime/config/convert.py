"""Plain data (TOML tables, parsed variables and flags) into config classes.

The cattrs converter is strict on purpose: a misspelled key is an error
(``forbid_extra_keys``), and nothing is coerced: cattrs would turn ``"false"``
into ``True`` and ``"abc"`` into ``('a', 'b', 'c')``. Its nested exceptions
become :class:`Finding`s that name the key path of each problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
from cattrs import Converter
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from runtime.config.problems import Finding, KeyPath, dotted

T = TypeVar("T")
Hook = Callable[[Any, Any], Any]


class InvalidValue(ValueError):
    def __init__(self, message: str, value: object) -> None:
        super().__init__(message)
        self.message = message
        self.value = value


def structure(data: Mapping[str, Any], cls: type[T]) -> T:
    """Build ``cls`` from ``data``; raises cattrs' exception groups (see :func:`findings`)."""
    result: T = _converter.structure(data, cls)
    return result


def findings(exc: BaseException, path: KeyPath = ()) -> Iterator[Finding]:
    """Flatten a cattrs exception tree into one finding per bad key."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        noted, plain = exc.group_exceptions()
        for sub, note in noted:
            key = note.name if isinstance(note, AttributeValidationNote) else note.index
            yield from findings(sub, (*path, key))
        for sub in plain:
            yield from findings(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = [f.name for f in attrs.fields(exc.cl)]
        for key in sorted(exc.extra_fields):
            close = get_close_matches(key, known, n=1)
            hint = f"; did you mean {dotted((*path, close[0]))}?" if close else ""
            yield Finding((*path, key), f"is not a setting{hint}")
    elif isinstance(exc, InvalidValue):
        yield Finding(path, exc.message, exc.value)
    elif isinstance(exc, KeyError):
        yield Finding(path, "is required")
    else:
        yield Finding(path, f"is invalid ({exc})")


def _strict(accepts: Callable[[Any], bool], message: str, make: Callable[[Any], Any]) -> Hook:
    def hook(value: Any, _: Any) -> Any:
        if not accepts(value):
            raise InvalidValue(message, value)
        return make(value)

    return hook


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _structure_path(value: Any, _: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise InvalidValue("must be a path (a non-empty string)", value)
    return Path(value)


def _structure_literal(value: Any, literal: Any) -> Any:
    choices = get_args(literal)
    if value not in choices or isinstance(value, bool):
        raise InvalidValue(f"must be one of {', '.join(map(str, choices))}", value)
    return value


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_dict(t: Any) -> bool:
    return get_origin(t) is dict


def _is_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook(t: Any) -> Hook:
    item_type = get_args(t)[0]

    def hook(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise InvalidValue("must be a list", value)
        out, errors = [], []
        for i, item in enumerate(value):
            try:
                out.append(_converter.structure(item, item_type))
            except Exception as e:
                e.add_note(IterableValidationNote(f"item {i}", i, item_type))
                errors.append(e)
        if errors:
            raise IterableValidationError("invalid list items", errors, t)
        return tuple(out)

    return hook


def _dict_hook(t: Any) -> Hook:
    key_type, value_type = get_args(t)

    def hook(value: Any, _: Any) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise InvalidValue("must be a table", value)
        out, errors = {}, []
        for key, item in value.items():
            try:
                out[_converter.structure(key, key_type)] = _converter.structure(item, value_type)
            except Exception as e:
                e.add_note(IterableValidationNote(f"key {key!r}", key, value_type))
                errors.append(e)
        if errors:
            raise IterableValidationError("invalid table entries", errors, t)
        return out

    return hook


def _class_hook(cls: type) -> Hook:
    generated: Hook = make_dict_structure_fn(cls, _converter)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise InvalidValue("must be a table", value)
        return generated(value, cls)

    return hook


_converter = Converter(forbid_extra_keys=True, detailed_validation=True)
_converter.register_structure_hook(
    str, _strict(lambda v: isinstance(v, str), "must be a string", str)
)
_converter.register_structure_hook(
    bool, _strict(lambda v: isinstance(v, bool), "must be true or false", bool)
)
_converter.register_structure_hook(
    int, _strict(lambda v: _is_number(v) and isinstance(v, int), "must be an integer", int)
)
# an int stays an int: 1 == 1.0 everywhere it is used, and an error then
# shows the value as it was typed
_converter.register_structure_hook(float, _strict(_is_number, "must be a number", lambda v: v))
_converter.register_structure_hook(Path, _structure_path)
_converter.register_structure_hook_func(_is_literal, _structure_literal)
_converter.register_structure_hook_factory(_is_tuple, _tuple_hook)
_converter.register_structure_hook_factory(_is_dict, _dict_hook)
_converter.register_structure_hook_factory(attrs.has, _class_hook)
