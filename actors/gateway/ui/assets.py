"""The dashboard's files, read once from the package and served from memory.

They are package data (``actors/gateway/ui/static``, listed in pyproject's
``package-data``), so an installed wheel serves exactly what a checkout does.
Only the files found there are served, by name (no paths, so nothing outside
the folder can be named). Each answer carries an ``ETag`` and ``Cache-Control:
no-cache``: a browser asks again on every load and gets a 304 while the files
are unchanged, so an upgraded node never serves a stale script. The page's
``Content-Security-Policy`` allows only this origin's own scripts, styles and
connections: the dashboard needs nothing else.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from attrs import frozen
from starlette.requests import Request
from starlette.responses import Response

from actors.gateway.auth import Principal
from actors.gateway.http_common import ApiError, Endpoint, no_query

__all__ = ["INDEX", "Asset", "asset_endpoint", "assets", "page_endpoint"]

INDEX = "index.html"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@frozen
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every file of the static folder by name (read on first use, then kept)."""
    out = {}
    for entry in files("actors.gateway.ui").joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            out[entry.name] = Asset(body, TYPES[suffix], etag)
    return out


def _serve(request: Request, asset: Asset) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": POLICY,
        "Referrer-Policy": "no-referrer",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def page_endpoint() -> Endpoint:
    """``GET /ui``: the dashboard's one page (its views are ``#/...`` fragments)."""
    assets()  # read the files now, when the app is built, not on a request

    async def page(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        return _serve(request, assets()[INDEX])

    return page


def asset_endpoint() -> Endpoint:
    """``GET /ui/static/{name}``: one of the page's scripts, styles or images."""

    async def asset(request: Request, who: Principal) -> Response:
        no_query(request, frozenset())
        name = request.path_params["name"]
        found = assets().get(name)
        if found is None:
            raise ApiError(404, f"no dashboard file named {name!r}")
        return _serve(request, found)

    return asset
