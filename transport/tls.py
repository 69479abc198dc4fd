"""SSL contexts for node-to-node mutual TLS: every node proves itself with a CA-signed cert."""

from __future__ import annotations

import ssl
from pathlib import Path


def server_context(
    *,
    require_client_cert: bool,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> ssl.SSLContext:
    """Accepting side; with ``require_client_cert`` a peer without a CA-signed cert is refused
    during the handshake, before any of its bytes reach the decoder."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
    _load(ctx, ca, cert, key)
    return ctx


def client_context(
    *, ca: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(ctx, ca, cert, key)
    return ctx


def _load(ctx: ssl.SSLContext, ca: Path | None, cert: Path | None, key: Path | None) -> None:
    if ca is not None:
        ctx.load_verify_locations(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key) if key is not None else None)
