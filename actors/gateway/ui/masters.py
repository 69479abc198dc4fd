"""``GET /api/v1/cluster/masters``: every master's own view, asked of each in turn.

``GET /api/v1/cluster`` answers with the view of the master that got the
request; a dashboard served by that master cannot ask the others itself (they
are other origins). This asks each master this one knows of for its
``GetCluster`` view over the cluster transport, all at once, each within
:data:`ASK_S`, and lists them in the membership's order. A master that cannot
be reached, or does not answer in time, is listed with ``reachable: false``
and why. The cost is one small message per master, whatever the work.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from actors.gateway.auth import Principal
from actors.gateway.http_common import MASTER, ApiError, Endpoint, no_query
from runtime.errors import AskError, AskTimeout
from transport.cluster import GetCluster, JsonView

if TYPE_CHECKING:  # the app imports this module's package
    from actors.gateway.app import Gateway

__all__ = ["ASK_S", "masters_endpoint", "masters_view"]

# how long one master may take to answer before it is listed as not answering
ASK_S = 1.0


async def _view_of(gateway: Gateway, node: str) -> dict[str, Any]:
    """``node``'s own view, or why it has none to give."""
    system = gateway.system
    if not system.reachable(node):
        return {"node": node, "reachable": False, "error": "unreachable from this master"}
    try:
        answer = await system.ref(node, MASTER).ask(GetCluster(), ASK_S)
    except AskTimeout:
        return {"node": node, "reachable": False, "error": f"no answer within {ASK_S:g} s"}
    except AskError as exc:
        return {"node": node, "reachable": False, "error": str(exc)}
    if not isinstance(answer, JsonView) or not answer.json:
        return {"node": node, "reachable": False, "error": "no view"}
    return {**json.loads(answer.json), "reachable": True}


async def masters_view(gateway: Gateway) -> dict[str, Any]:
    """``{"node": <this master>, "masters": [<each master's view>, ...]}``."""
    home = await _view_of(gateway, gateway.home)
    if not home["reachable"]:
        raise ApiError(503, f"master {gateway.home} did not answer: {home['error']}")
    names: list[str] = list(home.get("masters") or [gateway.home])
    views: dict[str, dict[str, Any]] = {gateway.home: home}

    async def ask(node: str) -> None:
        views[node] = await _view_of(gateway, node)

    async with trio.open_nursery() as nursery:
        for node in names:
            if node not in views:
                nursery.start_soon(ask, node)
    return {"node": gateway.home, "masters": [views[node] for node in names]}


def masters_endpoint(gateway: Gateway) -> Endpoint:
    async def masters(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return JSONResponse(await masters_view(gateway))

    return masters
