"""Rules that relate settings to each other, checked once the types are right.

The production profile lists everything it misses in one go: an operator
fixing a deployment should not have to restart once per missing setting.
"""

from __future__ import annotations

from collections.abc import Iterator

from runtime.config.model import AuthConfig, HttpConfig, NodeConfig, TlsConfig
from runtime.config.problems import Finding

MIN_SECRET_BYTES = 32


def rule_findings(config: NodeConfig) -> Iterator[Finding]:
    production = config.profile == "production"
    yield from _role_findings(config)
    yield from _order_findings(config)
    yield from _auth_findings(config.auth, production)
    yield from _tls_findings(config.tls, production)
    yield from _http_findings(config.http, production)


def _role_findings(config: NodeConfig) -> Iterator[Finding]:
    if config.role == "worker":
        if not config.masters:
            yield Finding(
                ("masters",),
                "must list at least one master for a worker, e.g. --masters 127.0.0.1:7001",
                config.masters,
            )
        if config.peers:
            yield Finding(
                ("peers",),
                "is for masters; a worker finds the cluster through masters",
                config.peers,
            )
        return
    if config.id not in config.peers:
        yield Finding(
            ("peers",),
            f"must include this node's id {config.id!r}: a master is one of its own peers",
            config.peers,
        )
    if config.masters:
        yield Finding(
            ("masters",),
            f"is for workers; a {config.role} node finds the other masters through peers",
            config.masters,
        )


# (section, low, high, strict, why): settings that must keep an order
_ORDERED = (
    (
        "raft",
        "heartbeat_ticks",
        "election_ticks",
        True,
        "or followers start elections while the leader is healthy",
    ),
    ("scheduler", "heartbeat_s", "lease_s", True, "or healthy workers lose their leases"),
    ("scheduler", "backoff_base_s", "backoff_cap_s", False, "as the cap bounds every wait"),
)


def _order_findings(config: NodeConfig) -> Iterator[Finding]:
    for section, low, high, strict, why in _ORDERED:
        values = getattr(config, section)
        low_value, high_value = getattr(values, low), getattr(values, high)
        if low_value > high_value or (strict and low_value == high_value):
            bound = "less than" if strict else "at most"
            yield Finding(
                (section, low),
                f"must be {bound} {section}.{high} ({high_value}), {why}",
                low_value,
            )


def _auth_findings(auth: AuthConfig, production: bool) -> Iterator[Finding]:
    when = "in the production profile" if production else "when auth.enabled is true"
    if production and not auth.enabled:
        yield Finding(("auth", "enabled"), f"must be true {when}", auth.enabled)
    if auth.enabled or production:
        # HS256 keys shorter than its 32-byte output are guessable offline from one token
        if len(auth.secret.encode()) < MIN_SECRET_BYTES:
            yield Finding(
                ("auth", "secret"), f"must be at least {MIN_SECRET_BYTES} bytes {when}", auth.secret
            )
        if not auth.users:
            yield Finding(("auth", "users"), f"must list at least one user {when}", auth.users)
    seen: set[str] = set()
    for i, user in enumerate(auth.users):
        if user.name in seen:
            yield Finding(("auth", "users", i, "name"), "is used by two users", user.name)
        seen.add(user.name)


def _tls_findings(tls: TlsConfig, production: bool) -> Iterator[Finding]:
    when = "in the production profile" if production else "when tls.enabled is true"
    if production and not tls.enabled:
        yield Finding(("tls", "enabled"), f"must be true {when}", tls.enabled)
    if not (tls.enabled or production):
        return
    for name in ("ca", "cert", "key"):
        path = getattr(tls, name)
        if path is None:
            yield Finding(("tls", name), f"must name a PEM file {when}")
        elif not path.is_file():
            yield Finding(("tls", name), "must name an existing file", path)


def _http_findings(http: HttpConfig, production: bool) -> Iterator[Finding]:
    """HTTPS takes both files; the production profile wants it wherever the API listens,
    since logins and bearer tokens would otherwise cross the network in clear."""
    if http.cert is None and http.key is None:
        if production and http.listen:
            yield Finding(
                ("http", "cert"),
                "and http.key must name PEM files in the production profile "
                "(the API would carry passwords and tokens in clear)",
            )
        return
    for name, other in (("cert", "key"), ("key", "cert")):
        path = getattr(http, name)
        if path is None:
            yield Finding(("http", name), f"must name a PEM file when http.{other} is set")
        elif not path.is_file():
            yield Finding(("http", name), "must name an existing file", path)
