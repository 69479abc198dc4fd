"""Structured logging: JSON lines for machines, short readable lines for people.

Log calls pass their fields through ``extra=``; this formatter puts every such
field into the JSON object, so a line about a job carries ``job`` and the node
that wrote it carries ``node`` without string formatting at the call site.
A line about a traced job also carries its OpenTelemetry ``trace_id``, so
logs and traces of one job find each other.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# fields a line shows only when they hold something: a line about a job carries the
# job's ``trace_id`` when it is traced, and none otherwise
_WHEN_SET = frozenset({"trace_id"})


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in vars(record).items()
        if k not in _STANDARD and (v is not None or k not in _WHEN_SET)
    }


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.node is not None:
            line["node"] = self.node
        line.update(record_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=repr)


class HumanFormatter(logging.Formatter):
    def __init__(self, node: str | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = record_fields(record)
        if self.node is not None:
            fields.setdefault("node", self.node)
        if fields:
            text += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


def setup_logging(
    level: str = "info", node: str | None = None, stream: TextIO | None = None
) -> None:
    """Send podium's logs to ``stream``: JSON lines unless it is a terminal."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    is_tty = hasattr(out, "isatty") and out.isatty()
    handler.setFormatter(HumanFormatter(node) if is_tty else JsonFormatter(node))
    root = logging.getLogger("podium")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
