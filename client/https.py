"""How the clients trust an HTTPS API: a CA bundle (``ca=``, ``--ca``, ``$PODIUM_CA``),
else the system's trusted roots.

A podium cluster usually signs its API certificate with its own CA (``podium
certs init --http-hosts ...``), which no system trusts; a client that was not
given that CA fails the handshake. That failure is not a network hiccup worth
retrying across every master until the deadline: it is said at once, with
what to do.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

__all__ = ["CA_ENV", "CaError", "ca_path", "untrusted", "verify_context"]

CA_ENV = "PODIUM_CA"


class CaError(ValueError):
    """The CA bundle to trust cannot be loaded."""


def ca_path(ca: str | Path | None) -> Path | None:
    """The CA bundle to trust: ``ca`` if given, else ``$PODIUM_CA`` (None: system roots)."""
    chosen = ca if ca is not None else os.environ.get(CA_ENV) or None
    return Path(chosen) if chosen is not None else None


def verify_context(ca: Path | None) -> ssl.SSLContext:
    """The context HTTPS calls verify with; a missing or unreadable bundle is a
    :class:`CaError` naming it (before any call is made)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise CaError(f"cannot load the CA bundle {ca}: {exc}") from None
    return ctx


def untrusted(exc: BaseException, base: str, ca: Path | None) -> str | None:
    """What to tell the caller when ``exc`` (an httpx failure) is a certificate that did
    not verify, or None when it is something else."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    reason = cause.verify_message or str(cause)
    trusted = f"the CA bundle {ca}" if ca is not None else "the system's trusted CAs"
    return (
        f"cannot verify the TLS certificate of {base} ({reason}) against {trusted}; "
        f"give the CA that signed it with --ca, ${CA_ENV} or Client(ca=...)"
    )
