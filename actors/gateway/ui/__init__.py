"""The dashboard at ``/ui``: static files shipped in the package, and the one view the
existing API lacked.

The page is plain HTML, CSS and ES modules (no build step, nothing fetched
from the internet): :mod:`actors.gateway.ui.assets` serves them from the
package, and the browser calls the JSON API with the user's token, so every
action obeys the same roles as the API itself. The files are open to anyone
(they hold no data); what they show is fetched with the token.
:mod:`actors.gateway.ui.masters` adds ``GET /api/v1/cluster/masters``, every
master's own view of the cluster, which a page served by one master cannot
reach otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.routing import Route

from actors.gateway.http_common import Endpoint
from actors.gateway.ui.assets import asset_endpoint, page_endpoint
from actors.gateway.ui.masters import masters_endpoint

if TYPE_CHECKING:  # the app imports this package
    from actors.gateway.app import Gateway

__all__ = ["ui_routes"]


def ui_routes(route: Callable[[str, str, Endpoint], Route], gateway: Gateway) -> list[Route]:
    """The dashboard's routes, made by the app's ``route`` (which checks permissions)."""
    return [
        route("/ui", "GET", page_endpoint()),
        route("/ui/static/{name}", "GET", asset_endpoint()),
        route("/api/v1/cluster/masters", "GET", masters_endpoint(gateway)),
    ]
