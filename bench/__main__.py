"""``python -m bench``: podium's benchmark suites.

Each micro-benchmark suite is a module with ``cases() -> list[BenchCase]``;
this entry point times them (warm-up, repeats, median), shows a progress bar
and a table, or with ``--json`` prints only a JSON list of
``{"name", "ns_per_op", "ops_per_s"}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.harness import BenchCase, BenchResult, measure_all

# suite name -> the modules whose cases() make it up
SUITES: dict[str, tuple[str, ...]] = {
    "codec": ("bench.codec",),
    "hotpath": ("bench.hotpath", "bench.codec"),
    "raft": ("bench.raft_core", "bench.raft_storage"),
}


def collect(suite: str) -> list[BenchCase]:
    cases: list[BenchCase] = []
    for module in SUITES[suite]:
        cases.extend(importlib.import_module(module).cases())
    return cases


def run_suite(
    suite: str, *, as_json: bool, quick: bool, filter_text: str | None = None
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
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    for name in SUITES:
        p = sub.add_parser(name, help=f"the {name} micro-benchmarks")
        p.add_argument("--json", action="store_true", help="print only JSON results")
        p.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
        p.add_argument("-k", dest="filter_text", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    run_suite(args.suite, as_json=args.json, quick=args.quick, filter_text=args.filter_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
