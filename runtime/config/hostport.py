"""``host:port`` addresses as people write them in flags, files and variables.

The reasons are phrased to follow a setting's name ("listen must have a port
between 0 and 65535") so the config loader can reuse them word for word.
"""

from __future__ import annotations

import re

_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?")
_PORT = re.compile(r"[0-9]{1,5}")


class AddressError(ValueError):
    """An address that is not ``host:port``; ``reason`` reads after a setting's name."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"address {text!r} {reason}")
        self.reason = reason


def parse_hostport(text: str) -> tuple[str, int]:
    """Split ``"127.0.0.1:7001"`` or ``"[::1]:7001"`` into ``(host, port)``.

    Port 0 is allowed: it asks the operating system for a free port.
    """
    if not isinstance(text, str):
        raise AddressError(repr(text), "must be a string like 127.0.0.1:7001")
    if "://" in text:
        raise AddressError(text, "must be host:port without a scheme, e.g. 127.0.0.1:7001")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddressError(text, "has an unclosed '[' (IPv6 looks like [::1]:7001)")
        host, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            raise AddressError(text, "must have a port after the ']', e.g. [::1]:7001")
        port_text = rest[1:]
        if not _IPV6.fullmatch(host) or ":" not in host:
            raise AddressError(text, "must have an IPv6 address inside the brackets")
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise AddressError(text, "must be host:port, e.g. 127.0.0.1:7001")
        if ":" in host:
            raise AddressError(text, "must put an IPv6 host in brackets, e.g. [::1]:7001")
        if not host:
            raise AddressError(
                text, "must have a host before the ':' (0.0.0.0 listens on every interface)"
            )
        if not _HOSTNAME.fullmatch(host):
            raise AddressError(text, f"has a host {host!r} that is not a hostname or IP address")
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise AddressError(text, "must have a port between 0 and 65535")
    return host, int(port_text)


def format_hostport(host: str, port: int) -> str:
    """The inverse of :func:`parse_hostport`: brackets an IPv6 host."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
