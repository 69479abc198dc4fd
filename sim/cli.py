"""``python -m sim``: list the scenarios, run one seed, check determinism, sweep seeds.

``run`` prints ``trace: <sha256 of the event trace>`` as its last line, so two
runs (or two machines) can be compared by that line alone. A failing run
prints the violated invariant with its seed and step, and the command that
replays it with the whole trace.

``sweep`` runs ``--seeds N`` seeds from ``--from-seed`` (0 by default), so a
long sweep can be split or resumed, and shows its progress on stderr: one
line rewritten in place on a terminal, a line every ten seeds otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
import time
import traceback
from collections.abc import Sequence
from typing import TextIO

from sim import scenarios
from sim.harness import RunResult, run_scenario

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim", description="podium's deterministic cluster simulator"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name the registered scenarios")
    run = commands.add_parser("run", help="run one scenario for one seed")
    run.add_argument("--scenario", required=True)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--check-determinism",
        action="store_true",
        help="run the seed twice and fail if the two traces differ",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print the event trace")
    sweep = commands.add_parser("sweep", help="run N seeds and list the failing ones")
    sweep.add_argument("--scenario", required=True)
    sweep.add_argument("--seeds", type=_count, required=True, help="how many seeds to run")
    sweep.add_argument(
        "--from-seed", type=int, default=0, metavar="N", help="the first seed (default 0)"
    )
    sweep.add_argument("-v", "--verbose", action="store_true", help="print every seed's outcome")
    return parser


def _count(text: str) -> int:
    """A number of seeds: at least one (a sweep of none would pass having run nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _summary(result: RunResult) -> str:
    figures = " ".join(f"{key}={value}" for key, value in result.summary.items())
    return f"{result.steps} steps, {result.end_time:.3f}s simulated; {figures}".rstrip("; ")


def _report(result: RunResult, out: TextIO) -> None:
    head = f"{result.scenario} seed {result.seed}"
    violation = result.violation
    if violation is None:
        print(f"{head}: ok, {_summary(result)}", file=out)
        return
    print(f"{head}: FAILED", file=out)
    print(f"violation: {violation}", file=out)
    if result.error is not None:
        print("".join(traceback.format_exception(result.error)).rstrip(), file=out)
    print(f"replay: {violation.replay}", file=out)


def _first_difference(a: list[str], b: list[str]) -> str:
    for index, (line_a, line_b) in enumerate(zip(a, b, strict=False)):
        if line_a != line_b:
            return f"line {index + 1}:\n  first:  {line_a}\n  second: {line_b}"
    return f"after line {min(len(a), len(b))}: one trace is longer ({len(a)} vs {len(b)} lines)"


def _run(scenario: scenarios.Scenario, seed: int, check: bool, verbose: bool, out: TextIO) -> int:
    result = run_scenario(scenario, seed)
    if verbose:
        for line in result.trace:
            print(line, file=out)
    _report(result, out)
    status = 0 if result.ok else 1
    if check:
        again = run_scenario(scenario, seed)
        if again.fingerprint == result.fingerprint:
            print(f"deterministic: two runs of seed {seed} produced the same trace", file=out)
        else:
            print(
                f"NOT deterministic: the traces of seed {seed} differ at "
                f"{_first_difference(result.trace, again.trace)}",
                file=out,
            )
            status = 1
    print(f"trace: {result.fingerprint}", file=out)
    return status


class _Progress:
    """How far a sweep got, on stderr; wall time here only estimates what is left."""

    def __init__(self, name: str, total: int, stream: TextIO) -> None:
        self.name = name
        self.total = total
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()

    def update(self, done: int, failing: int) -> None:
        if not self.live and done % 10 and done != self.total:
            return
        each = (time.monotonic() - self.started) / done
        left = each * (self.total - done)
        line = (
            f"{self.name}: {done}/{self.total} seeds run, {failing} failing, "
            f"{each:.1f}s a seed, {left / 60:.1f} min left"
        )
        if self.live:
            end = "\n" if done == self.total else ""
            print(f"\r{line}\x1b[K", end=end, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)


def _sweep(
    scenario: scenarios.Scenario,
    first: int,
    seeds: int,
    verbose: bool,
    out: TextIO,
    progress: TextIO,
) -> int:
    failing: list[int] = []
    shown = _Progress(scenario.name, seeds, progress)
    for done, seed in enumerate(range(first, first + seeds), start=1):
        result = run_scenario(scenario, seed)
        if result.violation is not None:
            failing.append(seed)
            print(f"FAILED {result.violation}", file=out)
            print(f"  replay: {result.violation.replay}", file=out)
        elif verbose:
            print(f"ok seed {seed}: {_summary(result)}; trace {result.fingerprint}", file=out)
        shown.update(done, len(failing))
    passed = seeds - len(failing)
    span = f" (seeds {first}..{first + seeds - 1})" if first else ""
    tail = f"; failing seeds: {' '.join(map(str, failing))}" if failing else ""
    print(f"{scenario.name}: {passed}/{seeds} seeds passed{span}{tail}", file=out)
    return 1 if failing else 0


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, progress: TextIO | None = None
) -> int:
    args = _parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    if args.command == "list":
        # each description whole, wrapped to the terminal under its own column
        width = max(shutil.get_terminal_size().columns, 60)
        names = scenarios.names()
        column = max(map(len, names), default=0) + 2
        for name in names:
            text = textwrap.fill(
                scenarios.get(name).description,
                width=width,
                initial_indent=f"{name:<{column}}",
                subsequent_indent=" " * column,
            )
            print(text, file=stream)
        return 0
    try:
        scenario = scenarios.get(args.scenario)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if args.command == "run":
        return _run(scenario, args.seed, args.check_determinism, args.verbose, stream)
    shown = progress if progress is not None else sys.stderr
    return _sweep(scenario, args.from_seed, args.seeds, args.verbose, stream, shown)
