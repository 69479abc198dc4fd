"""What each node role runs: the actors under the root supervisor, the HTTP app and the
native client sessions.

``runtime.node`` loads this module by name (``ROLES``) so that the runtime
layer never imports the actors layer. A ``dev`` node is a whole cluster in
one process: a single master (its own majority) and a worker beside it.
"""

from __future__ import annotations

import trio
from prometheus_client import CollectorRegistry

from actors.gateway.app import Gateway, Service, build_app
from actors.gateway.auth import Authenticator
from actors.gateway.native import NativeSessions
from actors.master.actor import MasterActor, MasterSettings
from actors.master.metrics import MasterMetrics
from actors.master.output_actor import OutputActor
from actors.master.output_store import OutputStore
from actors.raft.core import RaftConfig
from actors.scheduler.backoff import Backoff
from actors.worker.agent import Drain, WorkerActor
from actors.worker.handlers import default_registry
from actors.worker.metrics import WorkerMetrics
from runtime.config import NodeConfig
from runtime.storage import SqliteStorage
from runtime.storage.check import HISTORY_FILE, RAFT_FILE
from runtime.storage.history import History
from runtime.storage.history_sqlite import SqliteHistory
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem
from transport.output_messages import OUTPUT_ACTOR
from transport.tcp import ClientHandler


def master_actor(config: NodeConfig, metrics: MasterMetrics | None = None) -> MasterActor:
    raft, sched = config.raft, config.scheduler
    backoff = Backoff(
        sched.backoff_base_s, sched.backoff_multiplier, sched.backoff_cap_s, sched.backoff_jitter
    )
    settings = MasterSettings(
        policy=config.policy,
        lease_s=sched.lease_s,
        heartbeat_s=sched.heartbeat_s,
        max_assign_batch=sched.assign_batch,
        backoff=backoff,
        dead_letter=sched.dead_letter,
        keep_finished_s=config.retention.keep_finished_s,
        max_finished=config.retention.max_finished,
        events_retained=config.http.events_retained,
    )
    core_config = RaftConfig(
        election_ticks=raft.election_ticks,
        heartbeat_ticks=raft.heartbeat_ticks,
        max_msg_entries=raft.max_batch,
        max_inflight=raft.max_inflight,
    )
    return MasterActor(
        config.id,
        sorted(config.peers),
        SqliteStorage(config.data / RAFT_FILE),
        History(SqliteHistory(config.data / HISTORY_FILE)),
        core_config,
        settings,
        tick_s=raft.tick_s,
        snapshot_every=raft.snapshot_every,
        snapshot_bytes=raft.snapshot_bytes,
        metrics=metrics,
    )


def worker_actor(config: NodeConfig, metrics: WorkerMetrics | None = None) -> WorkerActor:
    registry = default_registry()
    for module in config.handlers:
        registry.load_module(module)
    if config.shell_allow:
        registry.shell_allow = config.shell_allow
    # a dev node's worker talks to the master in its own process
    masters = list(config.masters) or sorted(config.peers)
    return WorkerActor(
        config.id,
        masters,
        registry,
        capacity=config.capacity,
        prefetch=config.prefetch,
        types=config.types,
        heartbeat_s=config.scheduler.heartbeat_s,
        metrics=metrics,
        pool=config.pool,
        max_jobs_per_child=config.max_jobs_per_child,
        log_max_bytes=config.log_max_bytes,
    )


def output_actor(config: NodeConfig) -> OutputActor:
    return OutputActor(config.id, sorted(config.peers), OutputStore(config.data / HISTORY_FILE))


class NodeRoles:
    def __init__(self) -> None:
        # one per node process: the master records into it, the HTTP app serves it
        self.registry = CollectorRegistry()
        self.metrics = MasterMetrics(self.registry)
        self.worker_metrics = WorkerMetrics(self.registry)
        # the API's operations (on the actor system of the node that built them)
        self._service: Service | None = None

    def root(self, config: NodeConfig, system: ActorSystem) -> Supervisor:
        children: list[ChildSpec] = []
        if config.runs_master:
            children.append(ChildSpec("master", lambda: master_actor(config, self.metrics)))
            children.append(ChildSpec(OUTPUT_ACTOR, lambda: output_actor(config)))
        if config.runs_worker:
            children.append(ChildSpec("worker", lambda: worker_actor(config, self.worker_metrics)))
        return Supervisor(f"node-{config.id}", children)

    def service(self, config: NodeConfig, system: ActorSystem) -> Service:
        """The API's operations, one per running node: HTTP and native clients share its
        batches. A node run again in the same process (an embedding program, a test) gets
        new ones on its own actor system, not the stopped node's."""
        if self._service is None or self._service.gateway.system is not system:
            gateway = Gateway(
                system,
                max_body=config.http.max_body_bytes,
                body_timeout_s=config.http.body_timeout_s,
            )
            auth = Authenticator(config.auth, system.wall_clock)
            self._service = Service(gateway, auth)
        return self._service

    def http_app(self, config: NodeConfig, system: ActorSystem) -> object:
        api = self.service(config, system)
        return build_app(api.gateway, api.auth, self.registry, api)

    def client_handler(self, config: NodeConfig, system: ActorSystem) -> ClientHandler | None:
        """Native clients are served where a master runs (a worker has no gateway)."""
        if not config.runs_master:
            return None
        return NativeSessions(self.service(config, system))

    async def drain(self, config: NodeConfig, system: ActorSystem) -> None:
        """A worker stops taking jobs and finishes or hands back what it runs."""
        if not (config.runs_worker and system.has_actor("worker")):
            return
        await system.ref(system.node, "worker").send(Drain())
        while system.has_actor("worker"):
            await trio.sleep(0.05)


ROLES = NodeRoles()
