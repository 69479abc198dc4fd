"""Supervisors: a tree of nurseries that restarts crashed children.

A supervisor owns an ordered list of children, each an actor or another
supervisor, and one restart strategy:

- ``ONE_FOR_ONE``: only the crashed child is restarted; its siblings go on.
- ``ONE_FOR_ALL``: every child is stopped and all are started again in order,
  for children that only make sense together.

Restarts are limited by an intensity, ``max_restarts`` within ``within_s``
seconds (Erlang/OTP's MaxR/MaxT). One more crash inside the window means the
trouble is not local: the supervisor gives up and raises :class:`Escalation`,
which its own parent sees as that supervisor crashing. A child that returns
normally is not restarted. Every start, crash, restart and escalation is one
structured log line on the ``podium.supervisor`` logger.
"""

from __future__ import annotations

import collections
import enum
import logging
from collections.abc import Callable, Sequence

import attrs
import trio

from runtime.actor import Actor
from runtime.errors import Escalation
from runtime.system import ActorSystem

log = logging.getLogger("podium.supervisor")

__all__ = ["ChildSpec", "Strategy", "Supervisor"]


class Strategy(enum.Enum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"


@attrs.frozen
class ChildSpec:
    """A named child and the factory that builds a fresh instance on every (re)start."""

    name: str
    start: Callable[[], Actor | Supervisor]


class Supervisor:
    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        *,
        max_restarts: int = 3,
        within_s: float = 5.0,
    ) -> None:
        names = [child.name for child in children]
        if len(set(names)) != len(names):
            raise ValueError(f"supervisor {name!r} has duplicate child names: {names}")
        self.name = name
        self.children = list(children)
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.within_s = within_s
        self._restarts: collections.deque[float] = collections.deque()

    async def run(
        self, system: ActorSystem, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Supervise until every child has returned; raises Escalation when giving up."""
        if self.strategy is Strategy.ONE_FOR_ONE:
            await self._one_for_one(system, task_status)
        else:
            await self._one_for_all(system, task_status)

    def _event(self, event: str, child: str, **fields: object) -> None:
        extra = {"event": event, "supervisor": self.name, "child": child, **fields}
        level = logging.INFO if event in ("start", "stop") else logging.WARNING
        log.log(level, "%s %s/%s", event, self.name, child, extra=extra)

    def _count_restart(self, child: str, exc: BaseException) -> None:
        now = trio.current_time()
        while self._restarts and now - self._restarts[0] > self.within_s:
            self._restarts.popleft()
        if len(self._restarts) >= self.max_restarts:
            self._event("escalate", child, error=repr(exc), restarts=len(self._restarts))
            raise Escalation(
                f"supervisor {self.name!r}: more than {self.max_restarts} restarts "
                f"within {self.within_s:g}s (last: {child} crashed with {exc!r})"
            ) from exc
        self._restarts.append(now)

    async def _start_child(
        self,
        system: ActorSystem,
        spec: ChildSpec,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        child = spec.start()
        if isinstance(child, Supervisor):
            await child.run(system, task_status=task_status)
        else:
            await system.run_actor(spec.name, child, task_status=task_status)

    async def _one_for_one(self, system: ActorSystem, task_status: trio.TaskStatus[None]) -> None:
        async def keep_alive(spec: ChildSpec, task_status: trio.TaskStatus[None]) -> None:
            status = _Once(task_status)
            while True:
                try:
                    await self._start_child(system, spec, status)
                except Exception as exc:
                    self._event("crash", spec.name, error=repr(exc))
                    self._count_restart(spec.name, exc)
                    self._event("restart", spec.name)
                    continue
                self._event("stop", spec.name)
                status.started()
                return

        async with trio.open_nursery() as nursery:
            for spec in self.children:
                await nursery.start(keep_alive, spec)
                self._event("start", spec.name)
            task_status.started()

    async def _one_for_all(self, system: ActorSystem, task_status: trio.TaskStatus[None]) -> None:
        status = _Once(task_status)
        while True:
            crashed: list[tuple[str, Exception]] = []
            async with trio.open_nursery() as nursery:
                for spec in self.children:
                    await nursery.start(self._watch, system, spec, nursery, crashed)
                    if nursery.cancel_scope.cancel_called:
                        break
                    self._event("start", spec.name)
                status.started()
            if not crashed:
                return
            name, exc = crashed[0]
            self._event("crash", name, error=repr(exc), restarting=[c.name for c in self.children])
            self._count_restart(name, exc)
            self._event("restart", name, strategy=self.strategy.value)

    async def _watch(
        self,
        system: ActorSystem,
        spec: ChildSpec,
        nursery: trio.Nursery,
        crashed: list[tuple[str, Exception]],
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run one ONE_FOR_ALL child; its crash cancels all of its siblings."""
        child_status = _Once(task_status)
        try:
            await self._start_child(system, spec, child_status)
        except Exception as exc:
            crashed.append((spec.name, exc))
            nursery.cancel_scope.cancel()
        else:
            self._event("stop", spec.name)
        child_status.started()


class _Once:
    """Forwards the first ``started()`` only: restarts must not report 'started' again."""

    def __init__(self, inner: trio.TaskStatus[None]) -> None:
        self._inner: trio.TaskStatus[None] | None = inner

    def started(self, value: None = None) -> None:
        if self._inner is not None:
            inner, self._inner = self._inner, None
            inner.started()
