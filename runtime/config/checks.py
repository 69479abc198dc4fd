"""Value rules for single settings, declared next to the field they guard.

A check is a function from a value to the violations it finds. ``checked``
bundles a field's checks into one attrs validator, so a config built in code
fails fast on its first bad field; the loader instead builds the config with
validators switched off and runs every field's checks itself, so it reports
every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

import attrs

from runtime.config.hostport import AddressError, parse_hostport
from runtime.config.problems import Finding, KeyPath, dotted


@attrs.frozen
class Violation:
    message: str
    at: KeyPath = ()


Check = Callable[[Any], Iterable[Violation]]

_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@attrs.frozen
class Checked:
    """An attrs validator that keeps its checks where :func:`field_findings` finds them.

    ``secret`` marks a setting whose value must stay out of error messages.
    """

    checks: tuple[Check, ...]
    secret: bool = False

    def __call__(self, _instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        for check in self.checks:
            for v in check(value):
                raise ValueError(f"{dotted((attribute.name, *v.at))} {v.message}")


def checked(*checks: Check, secret: bool = False) -> Checked:
    return Checked(checks, secret)


def masked(value: object) -> str:
    """A repr for secrets, so a logged config shows whether one is set and nothing else."""
    return "'***'" if value else "''"


def secret_names(*classes: type) -> frozenset[str]:
    return frozenset(
        f.name
        for cls in classes
        for f in attrs.fields(cls)
        if isinstance(f.validator, Checked) and f.validator.secret
    )


def field_findings(obj: attrs.AttrsInstance, path: KeyPath = ()) -> Iterator[Finding]:
    """Run every field's checks over an attrs instance and the instances inside it."""
    for f in attrs.fields(type(obj)):
        value = getattr(obj, f.name)
        here = (*path, f.name)
        if isinstance(f.validator, Checked):
            for check in f.validator.checks:
                for v in check(value):
                    yield Finding((*here, *v.at), v.message, _value_at(value, v.at))
        if attrs.has(type(value)):
            yield from field_findings(value, here)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if attrs.has(type(item)):
                    yield from field_findings(item, (*here, i))


def _value_at(value: Any, at: KeyPath) -> Any:
    for part in at:
        value = value[part]
    return value


def positive(value: float) -> Iterator[Violation]:
    if not value > 0:
        yield Violation("must be a positive number")


def at_least(minimum: int) -> Check:
    def check(value: float) -> Iterator[Violation]:
        if value < minimum:
            yield Violation(f"must be at least {minimum}")

    return check


def between(low: float, high: float) -> Check:
    def check(value: float) -> Iterator[Violation]:
        if not low <= value <= high:
            yield Violation(f"must be between {low} and {high}")

    return check


def one_of(choices: Collection[str]) -> Check:
    listed = ", ".join(choices)

    def check(value: str) -> Iterator[Violation]:
        if value not in choices:
            yield Violation(f"must be one of {listed}")

    return check


def non_empty(value: str) -> Iterator[Violation]:
    if not value:
        yield Violation("must not be empty")


def address(value: str) -> Iterator[Violation]:
    try:
        parse_hostport(value)
    except AddressError as e:
        yield Violation(e.reason)


def address_or_empty(value: str) -> Iterator[Violation]:
    if value:
        yield from address(value)


def node_id(value: str) -> Iterator[Violation]:
    if not _NODE_ID.fullmatch(value):
        yield Violation(
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def module_name(value: str) -> Iterator[Violation]:
    if not _MODULE.fullmatch(value):
        yield Violation("must be a dotted Python module name like myjobs.handlers")


def each(check: Check) -> Check:
    """Apply ``check`` to every item of a list, pointing at the item's index."""

    def check_each(values: Iterable[Any]) -> Iterator[Violation]:
        for i, value in enumerate(values):
            for v in check(value):
                yield Violation(v.message, (i, *v.at))

    return check_each


def each_entry(key_check: Check, value_check: Check) -> Check:
    """Apply checks to a table's keys and values, pointing at the entry."""

    def check_entries(table: Mapping[str, Any]) -> Iterator[Violation]:
        for key, value in table.items():
            for v in key_check(key):
                yield Violation(f"key {key!r} {v.message}")
            for v in value_check(value):
                yield Violation(v.message, (key, *v.at))

    return check_entries


def unique(values: Iterable[Any]) -> Iterator[Violation]:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            yield Violation("is listed twice", (i,))
        seen.add(value)


def distinct_values(table: Mapping[str, Any]) -> Iterator[Violation]:
    """Two keys with one value: two peers at one address would be one node twice."""
    first: dict[Any, str] = {}
    for key, value in table.items():
        if value in first:
            yield Violation(f"has the same value as {first[value]}", (key,))
        first.setdefault(value, key)
