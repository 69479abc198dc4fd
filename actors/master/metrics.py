"""The master's Prometheus metrics (prometheus-client), in the node's own registry.

Two kinds. Levels and totals that the replicated job table already keeps
(jobs by status, queue depth, dead letters, retries, lease timeouts, workers)
are read from it at scrape time by a custom collector, so they cost nothing
per job and every master reports the same values (take ``max`` across
masters). Latencies are observed by the leader only, as it applies the
assignments and reports it committed, so summing histograms across masters
counts each job once, even across failovers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.scheduler.control_views import throttled
from actors.scheduler.lifecycle import JobStatus, WorkerState
from transport.codec import Message
from transport.commands import AssignCmd, ReportCmd

if TYPE_CHECKING:
    from actors.master.actor import MasterActor

__all__ = ["MasterMetrics"]

# every reason the job table gives a retry, so each series exists from the start
RETRY_REASONS = ("error", "timeout", "lease_expired", "worker_left")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
DURATION_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600)


class _TableCollector(Collector):
    def __init__(self, master: Callable[[], MasterActor | None]) -> None:
        self.master = master

    def collect(self) -> Iterator[Metric]:
        master = self.master()
        if master is None or not hasattr(master.raft, "core"):
            return
        jobs = master.jobs
        total = CounterMetricFamily(
            "podium_jobs", "Jobs that entered each status (and were submitted)",
            labels=["type", "status"],
        )  # fmt: skip
        for (job_type, status), n in sorted(jobs.entered.items()):
            total.add_metric([job_type, status], n)
        yield total
        depth = GaugeMetricFamily(
            "podium_queue_depth", "Pending jobs by priority", labels=["priority"]
        )
        by_priority = jobs.queue_depth_by_priority()
        for priority in range(10):
            depth.add_metric([str(priority)], by_priority.get(priority, 0))
        yield depth
        yield GaugeMetricFamily(
            "podium_dead_letter_jobs",
            "Jobs in the dead-letter queue",
            value=jobs.counts()[JobStatus.DEAD.value],
        )
        retries = CounterMetricFamily("podium_retries", "Retries by reason", labels=["reason"])
        by_reason = dict.fromkeys(RETRY_REASONS, 0) | jobs.retries_by_reason
        for reason, n in sorted(by_reason.items()):
            retries.add_metric([reason], n)
        yield retries
        yield CounterMetricFamily(
            "podium_lease_timeouts", "Job leases that ran out", value=jobs.lease_timeouts
        )
        workers = GaugeMetricFamily("podium_workers", "Workers by state", labels=["state"])
        states = dict.fromkeys((s.value for s in WorkerState), 0)
        for worker in jobs.workers_by_id.values():
            states[worker.state.value] += 1
        for state, n in states.items():
            workers.add_metric([state], n)
        yield workers
        yield GaugeMetricFamily(
            "podium_live_jobs", "Jobs in memory: pending, scheduled and running", len(jobs.jobs)
        )
        held = GaugeMetricFamily(
            "podium_jobs_throttled",
            "Pending jobs a type's limit or pause holds back now (limited or paused types)",
            labels=["type"],
        )
        now = master.ctx.wall_time()
        for job_type in jobs.control.types():
            held.add_metric([job_type], throttled(jobs, job_type, now))
        yield held
        yield GaugeMetricFamily(
            "podium_history_jobs",
            "Finished jobs kept in this master's history",
            master.history.rows,
        )
        raft = master.raft
        core = raft.core
        yield GaugeMetricFamily(
            "podium_raft_is_leader", "1 on the leader", value=int(raft.is_leader)
        )
        last = raft.last_snapshot
        yield GaugeMetricFamily(
            "podium_raft_snapshot_seconds",
            "How long the last snapshot took (encoding, with applying paused, and persisting)",
            value=last.seconds if last else 0.0,
        )
        yield GaugeMetricFamily(
            "podium_raft_snapshot_max_seconds",
            "The longest snapshot since this master started",
            value=raft.longest_snapshot_s,
        )
        yield GaugeMetricFamily(
            "podium_raft_snapshot_step_seconds",
            "The longest the last snapshot held the event loop in one piece",
            value=last.longest_step_s if last else 0.0,
        )
        yield GaugeMetricFamily(
            "podium_raft_snapshot_bytes",
            "Size of the last snapshot",
            value=last.bytes if last else 0,
        )
        yield GaugeMetricFamily(
            "podium_disk_full",
            "1 while this master cannot write its data directory (it takes no writes)",
            value=int(master.disk_full is not None),
        )
        yield GaugeMetricFamily("podium_raft_term", "Current Raft term", value=core.term)
        yield GaugeMetricFamily(
            "podium_raft_commit_index", "Highest committed log index", value=core.commit
        )


class MasterMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.master: MasterActor | None = None
        self.scheduling_latency = Histogram(
            "podium_scheduling_latency_seconds",
            "From when a job was due (submitted, or its run_at) to its assignment",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.job_duration = Histogram(
            "podium_job_duration_seconds",
            "From assignment to the committed report, by job type",
            ["type"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.leader_changes = Counter(
            "podium_raft_leader_changes", "Leaders this master has seen come and go",
            registry=registry,
        )  # fmt: skip
        registry.register(_TableCollector(lambda: self.master))

    def attach(self, master: MasterActor) -> None:
        """The master now running on this node (a restarted one replaces the old)."""
        self.master = master

    def before_apply(self, cmd: Message) -> list[tuple[str, float]] | None:
        """For a report: the type and start time of each run it may finish."""
        master = self.master
        if master is None or not master.raft.is_leader or not isinstance(cmd, ReportCmd):
            return None
        runs = []
        for item in cmd.reports:
            job = master.jobs.job(item.job_id)
            if (
                job is not None
                and job.status is JobStatus.RUNNING
                and job.attempts == item.attempt
                and job.started_at is not None
            ):
                runs.append((job.type, job.started_at))
        return runs

    def after_apply(self, cmd: Message, runs: list[tuple[str, float]] | None) -> None:
        master = self.master
        if master is None or not master.raft.is_leader:
            return
        if isinstance(cmd, AssignCmd):
            observe = self.scheduling_latency.observe
            for a in cmd.assignments:
                job = master.jobs.job(a.job_id)
                if job is not None and job.attempts == a.attempt and job.worker == a.worker:
                    observe(max(0.0, cmd.now - job.due))
        elif isinstance(cmd, ReportCmd) and runs:
            for job_type, started in runs:
                self.job_duration.labels(job_type).observe(max(0.0, cmd.now - started))
