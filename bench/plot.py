"""``--plot FILE.png``: the figures of a run drawn with matplotlib (headless, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import BenchResult


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_micro(results: Sequence[BenchResult], title: str, path: Path) -> None:
    """One horizontal bar per case, nanoseconds per operation on a log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(results) + 1.5))
    names = [r.name for r in results]
    ax.barh(names, [r.ns_per_op for r in results], color="#4c72b0")
    ax.set_xscale("log")
    ax.set_xlabel("ns per operation (log scale, lower is better)")
    ax.invert_yaxis()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_cluster(result: dict[str, Any], samples: dict[str, list[float]], path: Path) -> None:
    """Completions per second over the run, and latency CDFs (submit to start and to finish)."""
    plt = _pyplot()
    fig, (rate_ax, cdf_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    finished = samples.get("finished_at_s", [])
    if finished:
        width = 0.25
        buckets = [0] * (int(finished[-1] / width) + 1)
        for t in finished:
            buckets[max(0, int(t / width))] += 1
        rate_ax.plot([i * width for i in range(len(buckets))], [b / width for b in buckets])
    rate_ax.set_xlabel("seconds into the run")
    rate_ax.set_ylabel("jobs finished per second")
    rate_ax.set_title(f"{result['jobs']} {result['type']} jobs: {result['jobs_per_s']:,.0f} jobs/s")
    for key, label in (
        ("submit_to_start_ms", "submit to start"),
        ("submit_to_finish_ms", "submit to finish"),
    ):
        values = samples.get(key, [])
        if values:
            cdf_ax.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=label)
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("latency (ms, log scale)")
    cdf_ax.set_ylabel("fraction of jobs")
    cdf_ax.legend()
    cdf_ax.set_title(
        f"{result['masters']} masters, {result['workers']} workers"
        + (" (single node)" if result.get("single") else "")
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
