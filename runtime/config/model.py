"""The settings of one podium node, as frozen attrs classes.

Every field has a default, so ``NodeConfig()`` is a working development node.
The defaults that depend on the role (id, listen and HTTP address, peers,
data directory) are computed from the fields before them, so
``NodeConfig(role="worker", masters=(...))`` is a working worker too.

Sections (``[raft]``, ``[scheduler]``, ...) are fields whose type is another
attrs class; environment variables reach their keys with a double underscore
(``PODIUM_RAFT__TICK_S``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

import attrs
from attrs import Factory, field, frozen

from runtime.config.checks import (
    address,
    address_or_empty,
    at_least,
    between,
    checked,
    distinct_values,
    each,
    each_entry,
    masked,
    module_name,
    node_id,
    non_empty,
    one_of,
    positive,
    secret_names,
    unique,
)
from runtime.config.hostport import parse_hostport
from transport.frames import MAX_FRAME_SIZE

Role = Literal["dev", "master", "worker"]
Policy = Literal["round_robin", "least_loaded", "capacity_aware", "random", "lru"]
Profile = Literal["development", "production"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
UserRole = Literal["admin", "user", "worker"]
PoolKind = Literal["process", "thread"]

ROLES: tuple[str, ...] = get_args(Role)
POLICIES: tuple[str, ...] = get_args(Policy)
PROFILES: tuple[str, ...] = get_args(Profile)
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
USER_ROLES: tuple[str, ...] = get_args(UserRole)
POOL_KINDS: tuple[str, ...] = get_args(PoolKind)


def default_http_listen(role: str) -> str:
    """Dev serves the documented 8080; a master 8001; a worker serves no HTTP."""
    return {"dev": "127.0.0.1:8080", "master": "127.0.0.1:8001"}.get(role, "")


@frozen
class RaftConfig:
    """Raft timing and flow control; time is counted in ticks of ``tick_s`` seconds."""

    election_ticks: int = field(default=10, validator=checked(at_least(2)))
    heartbeat_ticks: int = field(default=1, validator=checked(at_least(1)))
    tick_s: float = field(default=0.05, validator=checked(positive))
    max_inflight: int = field(default=256, validator=checked(at_least(1)))
    max_batch: int = field(default=256, validator=checked(at_least(1)))
    snapshot_every: int = field(default=10_000, validator=checked(at_least(1)))
    # or sooner, once the entries applied since the last snapshot hold this many bytes
    snapshot_bytes: int = field(default=16 << 20, validator=checked(at_least(1024)))


@frozen
class SchedulerConfig:
    """Leases, retries and assignment batching of the leader's scheduling loop.

    A failed attempt waits ``min(cap, base * multiplier**(attempt-1))`` seconds,
    spread by +-``backoff_jitter`` (a fraction) so retries do not stampede.
    """

    lease_s: float = field(default=10.0, validator=checked(positive))
    heartbeat_s: float = field(default=1.0, validator=checked(positive))
    backoff_base_s: float = field(default=1.0, validator=checked(positive))
    backoff_multiplier: float = field(default=2.0, validator=checked(at_least(1)))
    backoff_cap_s: float = field(default=300.0, validator=checked(positive))
    backoff_jitter: float = field(default=0.1, validator=checked(between(0, 1)))
    dead_letter: bool = True
    assign_batch: int = field(default=64, validator=checked(at_least(1)))


@frozen
class RetentionConfig:
    """How long finished jobs stay in the history. The leader proposes its own values
    to the whole cluster, so set the same on every master.

    ``keep_finished_s = 0`` keeps nothing once a job is final (not even written to
    the history); ``max_finished`` caps the records kept, removing the oldest first.
    """

    keep_finished_s: float = field(default=86_400.0, validator=checked(at_least(0)))
    max_finished: int = field(default=10_000_000, validator=checked(at_least(1)))


@frozen
class HttpConfig:
    """The JSON API; an empty ``listen`` turns it off. ``body_timeout_s``: how long a
    request's body may take to arrive in full (then 408, and the connection closes).
    ``cert`` and ``key`` (PEM files) make it HTTPS: logins and tokens cross the network."""

    listen: str = field(default="127.0.0.1:8080", validator=checked(address_or_empty))
    max_body_bytes: int = field(default=1 << 20, validator=checked(at_least(1)))
    body_timeout_s: float = field(default=30.0, validator=checked(positive))
    cert: Path | None = None
    key: Path | None = None
    # events each master keeps for GET /api/v1/events to resume from (Last-Event-ID)
    events_retained: int = field(default=10_000, validator=checked(at_least(1)))

    @property
    def address(self) -> tuple[str, int] | None:
        return parse_hostport(self.listen) if self.listen else None


@frozen
class UserConfig:
    name: str = field(validator=checked(non_empty))
    password_hash: str = field(validator=checked(non_empty, secret=True), repr=masked)
    role: UserRole = field(default="user", validator=checked(one_of(USER_ROLES)))


@frozen
class AuthConfig:
    """JWT login for the HTTP API; ``shell_roles`` may submit ``shell`` jobs."""

    enabled: bool = False
    secret: str = field(default="", validator=checked(secret=True), repr=masked)
    token_ttl_s: float = field(default=3600.0, validator=checked(positive))
    users: tuple[UserConfig, ...] = ()
    shell_roles: tuple[UserRole, ...] = field(
        default=("admin",), validator=checked(each(one_of(USER_ROLES)), unique)
    )


@frozen
class TlsConfig:
    """Mutual TLS between nodes: ``ca`` signs every node's ``cert``."""

    enabled: bool = False
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None


def _default_id(node: NodeConfig) -> str:
    return "w1" if node.role == "worker" else "m1"


def _default_listen(node: NodeConfig) -> str:
    # a worker dials its masters, so any free port will do; a fixed one
    # would collide with a master started on the same host
    return "127.0.0.1:0" if node.role == "worker" else "127.0.0.1:7001"


def _default_http(node: NodeConfig) -> HttpConfig:
    return HttpConfig(listen=default_http_listen(node.role))


def _default_peers(node: NodeConfig) -> dict[str, str]:
    return {} if node.role == "worker" else {node.id: node.listen}


def _default_data(node: NodeConfig) -> Path:
    return Path("podium-data") if node.role == "dev" else Path("podium-data", node.id)


@frozen
class NodeConfig:
    """One node: ``dev`` runs a master and a local worker in one process.

    ``peers`` maps master ids to addresses and includes this master; a worker
    finds the cluster through ``masters``. Empty ``types`` accepts every job type.
    """

    role: Role = field(default="dev", validator=checked(one_of(ROLES)))
    id: str = field(default=Factory(_default_id, takes_self=True), validator=checked(node_id))
    listen: str = field(
        default=Factory(_default_listen, takes_self=True), validator=checked(address)
    )
    http: HttpConfig = field(default=Factory(_default_http, takes_self=True))
    peers: dict[str, str] = field(
        default=Factory(_default_peers, takes_self=True),
        validator=checked(each_entry(node_id, address), distinct_values),
    )
    masters: tuple[str, ...] = field(default=(), validator=checked(each(address), unique))
    data: Path = field(default=Factory(_default_data, takes_self=True))
    capacity: int = field(default=4, validator=checked(at_least(1)))
    # jobs a worker holds queued beyond capacity, so a freed slot starts the next one
    # without a round trip to the leader (0: take only what the slots can run now)
    prefetch: int = field(default=4, validator=checked(at_least(0)))
    # where a worker runs sync handlers: child processes (every core, timeouts that
    # stop the handler) or threads; and after how many jobs a child is replaced (0: never)
    pool: PoolKind = field(default="process", validator=checked(one_of(POOL_KINDS)))
    max_jobs_per_child: int = field(default=0, validator=checked(at_least(0)))
    # what a worker keeps of each attempt's output (its head and tail); at most half a
    # wire frame, since a finished capture travels to the masters in one message
    log_max_bytes: int = field(
        default=1 << 20, validator=checked(between(1024, MAX_FRAME_SIZE // 2))
    )
    handlers: tuple[str, ...] = field(default=(), validator=checked(each(module_name), unique))
    types: tuple[str, ...] = field(default=(), validator=checked(each(non_empty), unique))
    # argv[0] of the shell jobs this worker runs (empty: any command)
    shell_allow: tuple[str, ...] = field(default=(), validator=checked(each(non_empty), unique))
    policy: Policy = field(default="capacity_aware", validator=checked(one_of(POLICIES)))
    profile: Profile = field(default="development", validator=checked(one_of(PROFILES)))
    log_level: LogLevel = field(default="info", validator=checked(one_of(LOG_LEVELS)))
    raft: RaftConfig = field(factory=RaftConfig)
    scheduler: SchedulerConfig = field(factory=SchedulerConfig)
    retention: RetentionConfig = field(factory=RetentionConfig)
    auth: AuthConfig = field(factory=AuthConfig)
    tls: TlsConfig = field(factory=TlsConfig)

    @property
    def runs_master(self) -> bool:
        return self.role != "worker"

    @property
    def runs_worker(self) -> bool:
        return self.role != "master"

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_hostport(self.listen)

    @property
    def peer_addresses(self) -> dict[str, tuple[str, int]]:
        return {peer: parse_hostport(addr) for peer, addr in self.peers.items()}

    @property
    def master_addresses(self) -> tuple[tuple[str, int], ...]:
        return tuple(parse_hostport(addr) for addr in self.masters)

    def accepts(self, job_type: str) -> bool:
        return not self.types or job_type in self.types


SECTION_TYPES: dict[str, type] = {
    name: t for name, t in get_type_hints(NodeConfig).items() if attrs.has(t)
}
# a section that may also be written as one string: `http = "127.0.0.1:8080"`
SECTION_SHORTHANDS: dict[str, str] = {"http": "listen"}
SECRETS = secret_names(*SECTION_TYPES.values(), UserConfig, NodeConfig)


def setting_type(path: tuple[str, ...]) -> Any:
    """The declared type at a key path, or None when there is no such setting."""
    hints = get_type_hints(NodeConfig)
    if len(path) == 1:
        return hints.get(path[0])
    if len(path) == 2 and path[0] in SECTION_TYPES:
        return get_type_hints(SECTION_TYPES[path[0]]).get(path[1])
    return None
