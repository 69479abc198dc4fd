"""Errors the runtime raises to its callers."""

from __future__ import annotations


class AskTimeout(TimeoutError):
    """No reply arrived within the ask's timeout (lost message, dead or slow target)."""


class AskError(RuntimeError):
    """The target answered with a failure: it does not exist or its handler raised."""


class Escalation(RuntimeError):
    """A supervisor exceeded its restart intensity and hands the failure to its parent."""
