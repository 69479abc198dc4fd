"""Who may call what: JWT bearer tokens for configured users, roles, and the audit trail.

Tokens are HS256 JWTs (PyJWT) carrying the user name (``sub``), the role and
an expiry; the secret is at least 32 bytes (the config refuses less).
Passwords are checked against their scrypt hash on a thread, since one check
costs ~50 ms of CPU by design, and an unknown user costs the same as a wrong
password so the timing does not tell which names exist.

Roles: ``user`` submits, reads and cancels jobs and manages schedules; ``admin``
may also retry dead jobs, delete and purge finished ones, limit and pause job
types, and see workers and the cluster's membership; ``worker`` (for
automation beside workers) reads jobs and stats. ``shell`` jobs run
arbitrary commands, so only the roles in ``auth.shell_roles`` may submit one.
With auth off (the development profile), every request is allowed.

Every decision that matters to security (a login, a refused request) is one
JSON line on the ``podium.audit`` logger, with who, what and the outcome.
"""

from __future__ import annotations

import enum
import logging

import attrs
import jwt
import trio

from runtime.clock import WallClock
from runtime.config.model import AuthConfig
from runtime.passwords import hash_password, verify_password

audit = logging.getLogger("podium.audit")

__all__ = ["Authenticator", "Forbidden", "Permission", "Principal", "Unauthorized", "audit"]


class Permission(enum.Enum):
    SUBMIT = "submit jobs"
    READ = "read jobs and stats"
    CANCEL = "cancel jobs"
    RETRY = "retry dead jobs"
    DELETE = "delete finished jobs"
    WORKERS = "see workers"
    CLUSTER = "see cluster membership"
    SHELL = "submit shell jobs"
    SCHEDULE = "define, pause and delete schedules"
    CONTROL = "limit and pause job types"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission) - {Permission.SHELL},
    "user": frozenset({Permission.SUBMIT, Permission.READ, Permission.CANCEL, Permission.SCHEDULE}),
    "worker": frozenset({Permission.READ}),
}


@attrs.frozen
class Principal:
    name: str
    role: str


ANONYMOUS = Principal("anonymous", "admin")


class Unauthorized(Exception):
    """401: no valid credentials."""


class Forbidden(Exception):
    """403: valid credentials, not enough rights."""


class Authenticator:
    def __init__(self, config: AuthConfig, clock: WallClock) -> None:
        self.config = config
        self.clock = clock
        self.users = {user.name: user for user in config.users}
        # spent on unknown names so they cost what a wrong password costs
        self._decoy = hash_password("decoy") if config.enabled else ""

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    async def login(self, username: str, password: str, remote: str) -> str:
        user = self.users.get(username)
        stored = user.password_hash if user is not None else self._decoy
        ok = await trio.to_thread.run_sync(verify_password, password, stored)
        if user is None or not ok:
            audit.warning(
                "login failed",
                extra={"event": "login", "outcome": "failed", "user": username, "remote": remote},
            )
            raise Unauthorized("wrong username or password")
        audit.info(
            "login",
            extra={"event": "login", "outcome": "ok", "user": username, "role": user.role,
                   "remote": remote},
        )  # fmt: skip
        now = self.clock()
        claims = {
            "sub": user.name,
            "role": user.role,
            "iat": int(now),
            "exp": int(now + self.config.token_ttl_s),
        }
        return jwt.encode(claims, self.config.secret, algorithm="HS256")

    def principal(self, authorization: str | None) -> Principal:
        """Who sent the request, from its ``Authorization: Bearer`` header."""
        if not self.enabled:
            return ANONYMOUS
        if not authorization:
            raise Unauthorized("this request needs a token: POST /auth/login, then send "
                               "'Authorization: Bearer <token>'")  # fmt: skip
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
                token.strip(),
                self.config.secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired; log in again") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not valid: {exc}") from None
        user = self.users.get(claims["sub"])
        if user is None or user.role != claims["role"]:
            raise Unauthorized("the token's user or role is no longer configured")
        return Principal(user.name, user.role)

    def admit(self, authorization: str | None, what: str, remote: str) -> Principal:
        """:meth:`principal`, with a refusal written to the audit trail (``what`` was asked,
        from ``remote``) before Unauthorized goes on to the caller."""
        try:
            return self.principal(authorization)
        except Unauthorized as exc:
            audit.warning(
                "request unauthenticated",
                extra={"event": "denied", "request": what, "remote": remote, "reason": str(exc)},
            )
            raise

    def check(self, who: Principal, needed: Permission, what: str) -> None:
        """Raise Forbidden (and audit it) unless ``who`` may do ``needed``."""
        if not self.enabled:
            return
        if needed is Permission.SHELL:
            allowed = who.role in self.config.shell_roles
        else:
            allowed = needed in ROLE_PERMISSIONS.get(who.role, frozenset())
        if not allowed:
            self.deny(who, what, f"role {who.role!r} may not {needed.value}")

    def deny(self, who: Principal, what: str, reason: str) -> None:
        audit.warning(
            "request denied",
            extra={"event": "denied", "user": who.name, "role": who.role, "request": what,
                   "reason": reason},
        )  # fmt: skip
        raise Forbidden(reason)
