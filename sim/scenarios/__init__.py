"""The scenario registry: every module in this package registers its scenarios by name.

A scenario module only has to exist here: the registry imports every module
of the package (in name order) the first time a scenario is looked up, so
adding ``sim/scenarios/raft.py`` needs no edit to this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from transport.simnet import NetConfig

if TYPE_CHECKING:
    from sim.harness import Simulation

__all__ = ["Scenario", "Summary", "get", "names", "scenario"]

# what a scenario body returns: a few figures for the report line
Summary = Mapping[str, object]
Body = Callable[["Simulation"], Awaitable[Summary]]


@attrs.frozen
class Scenario:
    name: str
    body: Body
    # how long, after the final heal, the cluster may take to satisfy every convergence check
    converge_within: float = 30.0
    # an upper bound on mock time for the body, so a stuck scenario ends instead of hanging
    time_limit: float = 3600.0
    # the network's default link and inbox size (per-link overrides: ``sim.net.set_link``)
    network: NetConfig = attrs.Factory(NetConfig)
    description: str = ""


_registry: dict[str, Scenario] = {}
_discovered = False


def scenario(
    name: str,
    *,
    converge_within: float = 30.0,
    time_limit: float = 3600.0,
    network: NetConfig | None = None,
) -> Callable[[Body], Body]:
    """Register an async ``body(sim) -> summary`` under ``name``; its docstring describes it."""

    def register(body: Body) -> Body:
        if name in _registry and _registry[name].body is not body:
            raise ValueError(f"scenario {name!r} is already registered")
        # the docstring's first paragraph, whole sentences on one line
        summary = " ".join((body.__doc__ or "").strip().split("\n\n")[0].split())
        _registry[name] = Scenario(
            name, body, converge_within, time_limit, network or NetConfig(), summary
        )
        return body

    return register


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")


def get(name: str) -> Scenario:
    _discover()
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise KeyError(f"no scenario named {name!r} (known: {known})") from None


def names() -> list[str]:
    _discover()
    return sorted(_registry)
