"""Settings gathered from several sources, each value remembering its source.

Values are kept flat by key path: ``("capacity",)`` for a top-level setting,
``("raft", "tick_s")`` for a key of a section. A later ``put`` wins, key by
key inside sections, so a ``PODIUM_RAFT__TICK_S`` variable overrides one key
of the file's ``[raft]`` table and leaves the rest of it alone, while a value
that is itself a table, such as ``peers``, is replaced whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import Factory, define

from runtime.config.model import SECTION_SHORTHANDS, SECTION_TYPES
from runtime.config.problems import Finding, KeyPath

DEFAULTS = "defaults"


@define
class Layers:
    entries: dict[tuple[str, ...], tuple[Any, str]] = Factory(dict)
    # problems found while reading a source, before any value could be set
    findings: list[Finding] = Factory(list)

    def put(self, key: str, value: Any, source: str) -> None:
        if key in SECTION_SHORTHANDS and isinstance(value, str):
            value = {SECTION_SHORTHANDS[key]: value}
        if key in SECTION_TYPES and isinstance(value, Mapping):
            for sub, item in value.items():
                self.put_in_section(key, str(sub), item, source)
            return
        if key in SECTION_TYPES:
            for path in [p for p in self.entries if len(p) == 2 and p[0] == key]:
                del self.entries[path]
        self.entries[(key,)] = (value, source)

    def put_in_section(self, section: str, key: str, value: Any, source: str) -> None:
        self.entries.pop((section,), None)
        self.entries[(section, key)] = (value, source)

    def put_at(self, path: tuple[str, ...], value: Any, source: str) -> None:
        if len(path) == 1:
            self.put(path[0], value, source)
        else:
            self.put_in_section(path[0], path[1], value, source)

    def put_all(self, table: Mapping[str, Any], source: str) -> None:
        for key, value in table.items():
            self.put(key, value, source)

    def update(self, later: Layers) -> None:
        for path, (value, source) in later.entries.items():
            self.put_at(path, value, source)
        self.findings.extend(later.findings)

    def get(self, path: tuple[str, ...], default: Any = None) -> Any:
        entry = self.entries.get(path)
        return default if entry is None else entry[0]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, (value, _) in self.entries.items():
            if len(path) == 1:
                out[path[0]] = value
            else:
                out.setdefault(path[0], {})[path[1]] = value
        return out

    def source_of(self, path: KeyPath) -> str:
        """The source of the closest enclosing key that was set, else the defaults."""
        for end in (2, 1):
            prefix = path[:end]
            if len(prefix) == end and all(isinstance(p, str) for p in prefix):
                entry = self.entries.get(tuple(str(p) for p in prefix))
                if entry is not None:
                    return entry[1]
        return DEFAULTS
