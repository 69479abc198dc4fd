"""Reading one setting from text, as environment variables and flags give it.

The declared type decides: strings stay as typed (so ``PODIUM_ID=1`` is the
id ``"1"``), numbers and booleans are TOML scalars (``PODIUM_CAPACITY=8`` is
an int), and lists and tables take TOML inline syntax or the comma forms of
the command line (``a,b`` and ``m1=host:port,m2=host:port``). Text that does
not parse is passed on unchanged, so the type check that follows reports it
against the key and the source.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs

_NO_TOML = object()


class TextError(ValueError):
    """Text in a list or table form that cannot be split; the message follows the key."""


def parse_text(text: str, declared: Any) -> Any:
    """``declared`` is the setting's type, or None for a key podium does not know."""
    if _is_text(declared):
        value = _toml_value(text)
        return value if isinstance(value, str) else text
    origin = get_origin(declared)
    if origin is tuple:
        return _parse_list(text)
    if origin is dict or attrs.has(declared):
        return _parse_table(text, declared)
    value = _toml_value(text)
    return text if value is _NO_TOML else value


def _is_text(declared: Any) -> bool:
    if declared in (str, Path) or get_origin(declared) is Literal:
        return True
    args = get_args(declared)
    return bool(args) and all(a in (Path, type(None)) for a in args)


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return _NO_TOML


def _parse_list(text: str) -> Any:
    if text.lstrip().startswith("["):
        value = _toml_value(text)
        if value is _NO_TOML:
            raise TextError('must be a TOML list like ["a", "b"] or a comma list like a,b')
        return value
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_table(text: str, declared: Any) -> Any:
    if text.lstrip().startswith("{"):
        value = _toml_value(text)
        if value is _NO_TOML:
            raise TextError('must be a TOML inline table like {m1 = "127.0.0.1:7001"}')
        return value
    if attrs.has(declared):
        return text
    table: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise TextError(
                "must be id=host:port pairs separated by commas, "
                "e.g. m1=127.0.0.1:7001,m2=127.0.0.1:7002"
            )
        table[key.strip()] = value.strip()
    return table
