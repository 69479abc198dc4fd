"""What is wrong with a configuration, told in the words a person typed.

A :class:`Finding` names a setting by its key path; the loader then adds the
source that set it (the file, the ``PODIUM_*`` variable or the flag) so each
line of a :class:`ConfigError` says where to go and fix it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath

from attrs import frozen

KeyPath = tuple[str | int, ...]


class _NoValue(enum.Enum):
    NO_VALUE = "no value"


NO_VALUE = _NoValue.NO_VALUE


@frozen
class Finding:
    """One problem with one setting, before the loader says where it came from.

    ``value`` is left as ``NO_VALUE`` when there is no value to show (a missing
    or unknown key); ``source`` is set only when it is known up front, as for a
    flag whose text could not be read at all.
    """

    path: KeyPath
    message: str
    value: object = NO_VALUE
    source: str | None = None


class ConfigError(ValueError):
    """The configuration cannot start a node; ``problems`` has one line per mistake."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            text = f"config error: {self.problems[0]}"
        else:
            lines = "".join(f"\n  - {p}" for p in self.problems)
            text = f"config error: {len(self.problems)} problems:{lines}"
        super().__init__(text)


def dotted(path: KeyPath) -> str:
    """``("auth", "users", 0, "role")`` -> ``auth.users[0].role``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def show(value: object) -> str:
    """A value as it would be written in TOML, which is how users write config."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | PurePath):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def render(finding: Finding, source_of: Callable[[KeyPath], str], hidden: frozenset[str]) -> str:
    """One line: the key, what is wrong, what was given and where it was given.

    Values of settings named in ``hidden`` (secrets) show only their length.
    """
    source = finding.source if finding.source is not None else source_of(finding.path)
    head = f"{dotted(finding.path)} {finding.message}" if finding.path else finding.message
    if finding.value is NO_VALUE:
        return f"{head} (from {source})"
    named = [p for p in finding.path if isinstance(p, str)]
    if named and named[-1] in hidden:
        value = finding.value
        given = f"{len(value.encode())} bytes" if isinstance(value, str) else "a hidden value"
    else:
        given = show(finding.value)
    return f"{head} (got {given} from {source})"
