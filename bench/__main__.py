"""``python -m bench``: podium's benchmark suites.

Each micro-benchmark suite is a module with ``cases() -> list[BenchCase]``;
this entry point times them (warm-up, repeats, median), shows a progress bar
and a table, or with ``--json`` prints only a JSON list of
``{"name", "ns_per_op", "ops_per_s"}``. ``cluster`` runs a real loopback
cluster (:mod:`bench.cluster`) and prints one JSON object with ``--json``;
``soak`` runs millions of jobs through one (:mod:`bench.soak`) and exits 1
unless the cluster stayed healthy throughout; ``submit`` measures
acknowledged single submits per second on a dev node over the native
protocol and over HTTP (:mod:`bench.submit`). ``pool`` times CPU-bound sync
handlers one after the other, on threads and in the process pool
(:mod:`bench.pool`). ``limits`` measures the rate of a job type limited to
50/s on a dev node (:mod:`bench.limits`). ``schedules`` counts the ticks
schedules fire while the leader is SIGKILLed (:mod:`bench.schedules`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
from rich.console import Console
from rich.progress import Progress
from rich.table import Column, Table

from bench import schedules as schedules_bench
from bench.cluster import ClusterBench, ClusterOptions
from bench.harness import BenchCase, BenchResult, measure_all
from bench.limits import LimitsOptions, run_limits
from bench.pool import PoolOptions
from bench.soak import SoakBench, SoakOptions, problems
from bench.submit import SubmitOptions, run_submit

Opts = TypeVar("Opts", bound=attrs.AttrsInstance)
Number = TypeVar("Number", int, float)

# suite name -> the modules whose cases() make it up
SUITES: dict[str, tuple[str, ...]] = {
    "codec": ("bench.codec",),
    "hotpath": ("bench.hotpath", "bench.deps", "bench.codec"),
    "raft": ("bench.raft_core", "bench.raft_storage"),
}


def collect(suite: str) -> list[BenchCase]:
    cases: list[BenchCase] = []
    for module in SUITES[suite]:
        cases.extend(importlib.import_module(module).cases())
    return cases


def run_suite(
    suite: str,
    *,
    as_json: bool,
    quick: bool,
    filter_text: str | None = None,
    plot: Path | None = None,
) -> list[BenchResult]:
    cases = [c for c in collect(suite) if filter_text is None or filter_text in c.name]
    repeats, min_time = (3, 0.05) if quick else (5, 0.2)
    console = Console(stderr=True, quiet=as_json)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"bench {suite}", total=len(cases))
        results = measure_all(
            cases,
            repeats=repeats,
            min_time_s=min_time,
            on_result=lambda _: progress.advance(task),
        )
        if suite == "raft" and (filter_text is None or filter_text in "raft.loopback.commit"):
            from bench.raft_loopback import measure as loopback

            progress.update(task, description="bench raft: 3-master loopback cluster")
            results.append(loopback(proposals=5_000 if quick else 20_000))
    if as_json:
        print(json.dumps([r.as_json() for r in results]))
    else:
        table = Table(title=f"bench {suite} (median of {repeats})")
        table.add_column("name")
        table.add_column("ns/op", justify="right")
        table.add_column("ops/s", justify="right")
        for r in results:
            table.add_row(r.name, f"{r.ns_per_op:,.1f}", f"{r.ops_per_s:,.0f}")
        Console().print(table)
    if plot is not None:
        from bench.plot import plot_micro

        plot_micro(results, f"bench {suite}", plot)
    return results


def run_cluster(options: ClusterOptions, *, as_json: bool, plot: Path | None) -> dict[str, Any]:
    console = Console(stderr=True, quiet=as_json)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("cluster", total=1)

        def show(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=max(total, 1))

        bench = ClusterBench(options, show)
        result = bench.run()
    if as_json:
        print(json.dumps(result))
    else:
        table = Table(title=f"bench cluster: {result['jobs']} {result['type']} jobs")
        table.add_column("figure")
        table.add_column("value", justify="right")
        shape = (
            "1 dev node"
            if result["single"]
            else (f"{result['masters']} masters + {result['workers']} workers")
        )
        table.add_row("cluster", shape)
        table.add_row("jobs/s end to end", f"{result['jobs_per_s']:,.0f}")
        table.add_row("seconds", f"{result['seconds']:.2f}")
        for key, label in (
            ("start_latency_ms", "submit to start"),
            ("latency_ms", "submit to finish"),
        ):
            lat = result[key]
            table.add_row(f"{label} p50/p90/p99 ms", f"{lat['p50']} / {lat['p90']} / {lat['p99']}")
        turn = result["turnaround_ms"]
        table.add_row("slot turnaround p50/p99 ms", f"{turn['p50']} / {turn['p99']}")
        table.add_row("lost / not succeeded", f"{result['lost']} / {result['not_succeeded']}")
        if "failover" in result:
            fo = result["failover"]
            table.add_row("failovers", str(fo["kills"]))
            table.add_row("writes resumed after (median s)", f"{fo['median_resume_s']:.3f}")
            table.add_row("each (s)", ", ".join(f"{s:.2f}" for s in fo["resume_s"]))
        for name, mib in result["rss_mib"].items():
            table.add_row(f"peak RSS {name}", f"{mib:.0f} MiB")
        for name, us in result["cpu_us_per_job"].items():
            table.add_row(f"CPU per job {name}", f"{us:,.0f} µs")
        Console().print(table)
    if plot is not None:
        from bench.plot import plot_cluster

        plot_cluster(result, bench.samples, plot)
    return result


def add_cluster_parser(sub: Any) -> None:
    p = sub.add_parser("cluster", help="a real loopback cluster under load, end to end")
    p.add_argument("--masters", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--type", dest="job_type", choices=("noop", "sleep", "echo"), default="noop")
    p.add_argument(
        "--sleep", dest="sleep_s", type=float, default=0.01, help="seconds per sleep job"
    )
    p.add_argument("--concurrency", type=int, default=8, help="concurrent submitters")
    p.add_argument("--batch", type=int, default=500, help="jobs per submit request")
    p.add_argument("--capacity", type=int, default=256, help="slots per worker")
    p.add_argument("--rate", type=float, default=None, help="pace submission at jobs/s")
    p.add_argument(
        "--failover",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="N",
        help="SIGKILL the leader N times during the run (default 1)",
    )
    p.add_argument("--single", action="store_true", help="one dev node (master + worker)")
    p.add_argument("--data", type=Path, default=None, help="keep node data and logs here")
    p.add_argument("--timeout", dest="timeout_s", type=float, default=300.0)
    p.add_argument("--json", action="store_true", help="print only a JSON object")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png")


def run_soak(options: SoakOptions, *, as_json: bool) -> dict[str, Any]:
    console = Console(stderr=True, quiet=as_json)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("soak", total=1)

        def show(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=max(total, 1))

        result = SoakBench(options, show).run()
    if as_json:
        print(json.dumps(result))
        return result
    table = Table(title=f"bench soak: {result['jobs']:,} noop jobs")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("cluster", f"{result['masters']} masters + {result['workers']} workers")
    table.add_row("finished", f"{result['finished']:,}")
    table.add_row("jobs/s end to end", f"{result['jobs_per_s']:,.0f}")
    table.add_row("seconds", f"{result['seconds']:.1f}")
    table.add_row("leader changes", str(result["leader_changes"]))
    table.add_row("failed requests", str(result["failed_requests"]))
    table.add_row("slowest submit", f"{result['max_request_ms']:,.1f} ms")
    table.add_row("slowest /health", f"{result['max_health_ms']:,.1f} ms")
    table.add_row("longest snapshot", f"{result['snapshot_ms_max']:,.1f} ms")
    table.add_row("longest snapshot step", f"{result['snapshot_step_ms_max']:,.1f} ms")
    for name, rss in result["rss_mib"].items():

        def mib(value: float | None) -> str:
            return "-" if value is None else f"{value:,.0f}"

        growth = "-" if rss["growth_pct"] is None else f"{rss['growth_pct']:+.1f}%"
        table.add_row(
            f"RSS {name} at {result['sample_at']:,} / end",
            f"{mib(rss['at_sample'])} / {mib(rss['end'])} MiB ({growth})",
        )
    for name in result["history_jobs"]:
        table.add_row(
            f"history / live jobs {name}",
            f"{result['history_jobs'][name]:,} / {result['live_jobs'][name]:,}",
        )
    for name, ms in result["list_ms"].items():
        table.add_row(f"list {name}", f"{ms:,.1f} ms")
    if "restart_ready_s" in result:
        ready = result["restart_ready_s"]
        table.add_row("follower ready after restart", "-" if ready is None else f"{ready:.2f} s")
    Console().print(table)
    return result


def add_soak_parser(sub: Any) -> None:
    p = sub.add_parser("soak", help="millions of jobs through a loopback cluster, watching health")
    p.add_argument("--masters", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2_000_000)
    p.add_argument("--batch", type=int, default=500, help="jobs per submit request")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent submitters")
    p.add_argument("--capacity", type=int, default=256, help="slots per worker")
    p.add_argument(
        "--max-backlog", type=int, default=20_000, help="most jobs submitted but not finished"
    )
    p.add_argument(
        "--sample-at",
        type=int,
        default=None,
        help="finished jobs at the first RSS sample (default 200000, or jobs/10 if fewer)",
    )
    p.add_argument(
        "--restart-check",
        action="store_true",
        help="at the end, SIGKILL a follower, restart it and time it to /ready",
    )
    p.add_argument("--data", type=Path, default=None, help="keep node data and logs here")
    p.add_argument("--timeout", dest="timeout_s", type=float, default=3600.0)
    p.add_argument("--json", action="store_true", help="print only a JSON object")


def _positive(convert: Callable[[str], Number]) -> Callable[[str], Number]:
    """An argparse type: ``convert``'s number (int or float), above zero (argparse says
    which flag when it is not, in one line)."""
    kind = "a whole number" if convert is int else "a number"

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} is not above zero")
        return value

    return parse


_count = _positive(int)
_amount = _positive(float)


def add_submit_parser(sub: Any) -> None:
    p = sub.add_parser("submit", help="single submits/s on a dev node: native protocol vs HTTP")
    p.add_argument("--jobs", type=_count, default=20_000, help="timed submits on each protocol")
    p.add_argument("--inflight", type=_count, default=64, help="native calls in flight")
    p.add_argument("--connections", type=_count, default=32, help="HTTP keep-alive connections")
    p.add_argument("--no-http", dest="http", action="store_false", help="the native side only")
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also drive hypercorn with nothing behind it (raw ASGI, and Starlette)",
    )
    p.add_argument("--data", type=Path, default=None, help="keep node data and logs here")
    p.add_argument("--json", action="store_true", help="print only a JSON object")


def _measured(
    label: str, run: Callable[[Callable[[str], None]], dict[str, Any]], *, as_json: bool
) -> dict[str, Any]:
    """``run(show)`` with its progress on stderr; the result printed as JSON if asked."""
    console = Console(stderr=True, quiet=as_json)
    with console.status(label) as status:
        result = run(lambda what: status.update(what))
    if as_json:
        print(json.dumps(result))
    return result


def show_submit(options: SubmitOptions, *, as_json: bool) -> dict[str, Any]:
    result = _measured("submit", lambda show: run_submit(options, show), as_json=as_json)
    if as_json:
        return result
    table = Table(title="bench submit: acknowledged single submits on a dev node")
    table.add_column("protocol", no_wrap=True)
    table.add_column("connections", justify="right")
    table.add_column("in flight", justify="right")
    table.add_column("submits/s", justify="right")
    table.add_column("server CPU µs each", justify="right")
    table.add_column("client CPU µs each", justify="right")
    for name, figure in result.items():
        table.add_row(
            name,
            str(figure["connections"]),
            str(figure["inflight"]),
            f"{figure['submits_per_s']:,}",
            str(figure["server_cpu_us"]),
            str(figure["client_cpu_us"]),
        )
    Console().print(table)
    return result


def run_pool(options: PoolOptions, *, as_json: bool) -> dict[str, Any]:
    from bench.pool import measure

    result = measure(options)
    if as_json:
        print(json.dumps(result))
    else:
        Console().print(pool_table(result))
    return result


def pool_table(result: dict[str, Any]) -> Table:
    title = f"bench pool: {result['jobs']} CPU-bound jobs of {result['work']:,} loops"
    table = Table(
        "how",
        Column("seconds", justify="right"),
        Column("vs sequential", justify="right"),
        title=title,
    )
    for how, key in (
        ("one after the other", "sequential"),
        ("threads (--pool thread)", "thread"),
        ("processes (--pool process)", "process"),
    ):
        ratio = result[f"{key}_s"] / result["sequential_s"]
        table.add_row(how, f"{result[f'{key}_s']:.2f}", f"{ratio:.2f}")
    return table


def add_pool_parser(sub: Any) -> None:
    p = sub.add_parser("pool", help="CPU-bound sync handlers: sequential, threads, processes")
    p.add_argument("--jobs", type=_count, default=2, help="jobs run at once (and pool size)")
    p.add_argument("--work", type=_count, default=20_000_000, help="loop iterations per job")
    p.add_argument("--repeats", type=_count, default=3, help="runs of each; the best is kept")
    p.add_argument("--json", action="store_true", help="print only a JSON object")


def add_limits_parser(sub: Any) -> None:
    p = sub.add_parser("limits", help="the measured rate of a type limited to 50/s, on a dev node")
    p.add_argument("--rate", type=_amount, default=50.0, help="the limit, starts a second")
    p.add_argument("--burst", type=_amount, default=None, help="default: a second of the rate")
    p.add_argument("--seconds", type=_amount, default=30.0, help="the window measured")
    p.add_argument("--type", default="noop", help="the job type limited and submitted")
    p.add_argument("--data", type=Path, default=None, help="keep node data and logs here")
    p.add_argument("--json", action="store_true", help="print only a JSON object")


def show_limits(options: LimitsOptions, *, as_json: bool) -> dict[str, Any]:
    result = _measured("limits", lambda show: run_limits(options, show), as_json=as_json)
    if as_json:
        return result
    table = Table("figure", Column("value", justify="right"),
                  title=f"bench limits: {result['type']} limited to {result['rate_per_s']:g}/s, "
                        f"burst {result['burst']:g}, on a dev node")  # fmt: skip
    table.add_row(
        f"started in the first {result['seconds']:g} s", f"{result['started_in_window']:,}"
    )
    table.add_row("measured rate (starts/s)", f"{result['measured_per_s']:.2f}")
    table.add_row("measured rate without the burst", f"{result['after_burst_per_s']:.2f}")
    table.add_row("most starts in one second", str(result["max_in_1s"]))
    table.add_row("every window within rate x window + burst", str(result["bound_held"]))
    table.add_row("jobs succeeded", f"{result['succeeded']:,} of {result['jobs']:,}")
    Console().print(table)
    return result


# what `python -m bench --help` says: the module docstring is for readers of the code
# (its ``markup`` would show as it is), this is for people at a terminal
DESCRIPTION = """podium's benchmarks. codec, hotpath and raft time small pieces (warm-up,
repeats, the median) and print a table, or with --json a list of {name, ns_per_op,
ops_per_s}. cluster puts load on a real loopback cluster, end to end; soak runs
millions of jobs through one and exits 1 unless it stayed healthy; submit counts
acknowledged single submits a second on a dev node, native protocol against HTTP;
pool times CPU-bound handlers one after the other, on threads and in processes;
limits measures the rate of a type limited to 50/s on a dev node; schedules
counts the ticks every_s: 1 schedules fire while the leader is killed.
python -m bench SUITE --help shows a suite's options."""
SUITE_HELP = {
    "codec": "encode and decode of a typical job message",
    "hotpath": "policies, the scheduling cycle, the state machine, dependent jobs, the codec",
    "raft": "the Raft core's commit rate, SQLite log saves",
}


def _options(cls: type[Opts], args: argparse.Namespace) -> Opts:
    """A suite's options from the parsed command line (the flags named as its fields)."""
    fields = {f.name for f in attrs.fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in fields})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="suite", required=True)
    for name in SUITES:
        p = sub.add_parser(name, help=SUITE_HELP[name])
        p.add_argument("--json", action="store_true", help="print only JSON results")
        p.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
        p.add_argument("-k", dest="filter_text", help="only cases whose name contains this")
        p.add_argument("--plot", type=Path, default=None, metavar="FILE.png")
    add_cluster_parser(sub)
    add_soak_parser(sub)
    add_submit_parser(sub)
    add_pool_parser(sub)
    add_limits_parser(sub)
    schedules_bench.add_parser(sub)
    args = parser.parse_args(argv)
    if args.suite == "schedules":
        return schedules_bench.main(args)
    if args.suite == "limits":
        limits = _options(LimitsOptions, args)
        result = show_limits(limits, as_json=args.json)
        return 0 if result["bound_held"] else 1
    if args.suite == "submit":
        submit = _options(SubmitOptions, args)
        show_submit(submit, as_json=args.json)
        return 0
    if args.suite == "pool":
        run_pool(_options(PoolOptions, args), as_json=args.json)
        return 0
    if args.suite == "soak":
        soak = run_soak(_options(SoakOptions, args), as_json=args.json)
        reasons = problems(soak)
        for reason in reasons:
            print(f"unhealthy: {reason}", file=sys.stderr)
        return 1 if reasons else 0
    if args.suite == "cluster":
        options = _options(ClusterOptions, args)
        result = run_cluster(options, as_json=args.json, plot=args.plot)
        return 0 if result["lost"] == 0 and result["not_succeeded"] == 0 else 1
    run_suite(
        args.suite,
        as_json=args.json,
        quick=args.quick,
        filter_text=args.filter_text,
        plot=args.plot,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
