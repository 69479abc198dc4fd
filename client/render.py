"""What the ``podium`` command shows people: jobs, one job in full, a batch's outcome, workers.

Rules, each from a user who got stuck without it: an id is never cut (it is
what the next command takes, so its column never wraps or shrinks, even at
80 columns); times are shown as people read them (local time and how long
ago), never as raw epochs; a failed job shows why (a shell job's exit code
and the tails of its stdout and stderr, a handler's error) rather than only
that it failed; and many jobs are summarised, with ``--json`` for every
record. Text from jobs is printed as text, never as rich markup.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "age",
    "batch_summary",
    "graph_ids",
    "job_detail",
    "job_graph",
    "job_table",
    "limits_table",
    "now",
    "say",
    "workers_table",
]

Job = Mapping[str, Any]
# lines of a shell job's stdout/stderr, or of an error, shown by `podium status`
TAIL_LINES = 20
# jobs that did not succeed listed under a batch's summary
FAILED_SHOWN = 10
# parents, and children, drawn around a job by `podium status`
GRAPH_SHOWN = 10


def now() -> float:
    """This machine's clock, the reference for "how long ago" (the CLI is no simulated
    actor: it shows people times against the clock on their wall)."""
    return datetime.now(UTC).timestamp()


def age(seconds: float) -> str:
    """A duration in the unit people use for it: 0.4s, 12s, 5m, 3h, 2d."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def when(epoch: float | None, at: float) -> str:
    """``2026-11-23 17:40:12 (5m ago)`` in local time, or ``in 5m`` for a time ahead."""
    if epoch is None:
        return "-"
    local = datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    delta = at - epoch
    relative = f"{age(delta)} ago" if delta >= 0 else f"in {age(-delta)}"
    return f"{local} ({relative})"


def _table(*columns: str, folding: tuple[str, ...] = ("type", "worker", "types", "error")) -> Table:
    """A borderless table (two spaces between columns: at 80 columns a job id, a status
    and an age still fit on one line). Only free text (``folding``) wraps."""
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for name in columns:
        if name == "id":
            # ids are what the next command takes: never folded, wrapped or shortened
            table.add_column(name, no_wrap=True, min_width=36)
        else:
            table.add_column(name, no_wrap=name not in folding, overflow="fold")
    return table


def job_table(jobs: Iterable[Job], at: float) -> Table:
    """One line a job, newest first as the API gives them; ``age`` is since submission."""
    table = _table("id", "type", "status", "tries", "worker", "age")
    for job in jobs:
        table.add_row(
            job["id"],
            Text(job["type"]),
            job["status"],
            str(job["attempts"]),
            Text(job["worker"] or "-"),
            age(at - job["created_at"]),
        )
    return table


def _tail(text: str, lines: int = TAIL_LINES) -> tuple[str, str]:
    """The last ``lines`` lines of ``text``, and a note saying how much was left out."""
    kept = text.rstrip("\n").split("\n")
    if len(kept) <= lines:
        return "\n".join(kept), ""
    return "\n".join(kept[-lines:]), f" (last {lines} of {len(kept)} lines; --json for all)"


def _is_shell(result: Any) -> TypeGuard[dict[str, Any]]:
    """Whether ``result`` is what a shell job leaves (its exit code and output tails)."""
    return isinstance(result, dict) and {"exit_code", "stdout", "stderr"} <= set(result)


def _block(title: str, text: str) -> list[RenderableType]:
    if not text.strip():
        return [Text(f"{title}: (empty)", style="bold")]
    shown, note = _tail(text)
    return [Text(f"{title}{note}:", style="bold"), Text(shown)]


def job_detail(job: Job, at: float) -> RenderableType:
    """Every field of one job, then why it ended as it did: a shell job's exit code and
    output tails, a handler's result, an error's summary and its last lines."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    tries = f"{job['attempts']} of {job['max_retries'] + 1}"
    rows: list[tuple[str, str]] = [
        ("id", job["id"]),
        ("type", job["type"]),
        ("status", job["status"]),
        ("attempts", tries),
        ("priority", str(job["priority"])),
        ("worker", job["worker"] or "-"),
        ("created", when(job["created_at"], at)),
        ("started", when(job["started_at"], at)),
        ("finished", when(job["finished_at"], at)),
    ]
    if job.get("run_at") is not None and job["status"] == "scheduled":
        rows.append(("runs at", when(job["run_at"], at)))
    if job.get("last_reason"):
        rows.append(("last failure", job["last_reason"]))  # error, timeout, worker lost
    if job.get("idempotency_key"):
        rows.append(("key", job["idempotency_key"]))
    if job.get("schedule"):
        rows.append(("schedule", f"{job['schedule']}, tick {when(job['scheduled_for'], at)}"))
    if job.get("waiting_for"):
        rows.append(("waiting for", job["waiting_for"]))
    if job.get("progress") is not None:
        rows.append(("progress", progress_text(job["progress"], job.get("progress_message"))))
    for name, value in rows:
        fields.add_row(name, Text(value))
    parts: list[RenderableType] = [fields]
    parts += _earlier_attempts(job, at)
    result, error = job.get("result"), job.get("error")
    if error:
        summary, _, rest = error.partition("\n")
        parts.append(Text.assemble(("error: ", "bold red"), summary))
        if rest.strip() and not _is_shell(result):
            parts += _block("error detail", rest)
    if _is_shell(result):
        parts.append(Text.assemble(("exit code: ", "bold"), str(result["exit_code"])))
        parts += _block("stdout", result["stdout"])
        parts += _block("stderr", result["stderr"])
    elif result is not None:
        parts.append(Text("result:", style="bold"))
        parts.append(Text(json.dumps(result, indent=2)))
    return Group(*parts)


def progress_text(fraction: float, message: str | None) -> str:
    """``40% resized 40 of 100``: what a handler's ctx.progress said, as one line."""
    return f"{fraction:.0%} {message}" if message else f"{fraction:.0%}"


def event_line(event: Mapping[str, Any]) -> str:
    """One line of ``podium events``: when, what, which job or worker, and the rest."""
    at = event.get("time")
    clock = datetime.fromtimestamp(at).strftime("%H:%M:%S") if at is not None else "--:--:--"
    parts = [clock, event["type"]]
    for key in ("job", "worker", "status"):
        if event.get(key) is not None:
            parts.append(str(event[key]))
    if event.get("attempt") is not None:
        parts.append(f"attempt {event['attempt']}")
    if event.get("progress") is not None:
        parts.append(progress_text(event["progress"], event.get("progress_message")))
    if event.get("leader") is not None:
        parts.append(f"leader {event['leader']} (term {event.get('term')})")
    if event.get("reason"):
        parts.append(f"reason {event['reason']}")
    if event.get("error"):
        parts.append(f"error {event['error']}")
    if event.get("oldest") is not None or event["type"] == "stream.gap":
        parts.append(f"events after {event.get('after')} may be missing")
    return "  ".join(parts)


def _earlier_attempts(job: Job, at: float) -> list[RenderableType]:
    """Failed attempts before the last outcome (whose error is shown below): one line
    each, with the error's last line, where the exception is."""
    log = job.get("attempts_log") or []
    earlier = log[:-1] if log and job.get("error") == log[-1]["error"] else log
    if not earlier:
        return []
    lines: list[RenderableType] = [Text("earlier attempts:", style="bold")]
    for entry in earlier:
        error = (entry["error"] or "").strip().splitlines()
        last = f": {error[-1]}" if error else ""
        where = f"#{entry['attempt']} on {entry['worker'] or '-'}, {when(entry['at'], at)}"
        lines.append(Text(f"  {where}: {entry['reason']}{last}"))
    return lines


def graph_ids(job: Job) -> list[str]:
    """The parents and children :func:`job_graph` draws (their statuses are needed)."""
    parents = job.get("depends_on") or []
    children = job.get("children") or []
    return [*parents[:GRAPH_SHOWN], *children[:GRAPH_SHOWN]]


def job_graph(job: Job, related: Mapping[str, Job]) -> RenderableType:
    """The job between its parents (above, what it waits for) and its children (below,
    what waits for it), each with its status; the first :data:`GRAPH_SHOWN` of each."""
    table = _table("", "id", "status")
    table.columns[0].no_wrap = True

    def rows(ids: Sequence[str], mark: str, more_hint: str) -> None:
        for job_id in ids[:GRAPH_SHOWN]:
            other = related.get(job_id)
            table.add_row(mark, job_id, other["status"] if other else "(no record)")
        if len(ids) > GRAPH_SHOWN:
            table.add_row("", f"... and {len(ids) - GRAPH_SHOWN} more", more_hint)

    parents: list[str] = job.get("depends_on") or []
    children: list[str] = job.get("children") or []
    rows(parents, "parent", "")
    rule = job.get("on_parent_failure", "fail")
    table.add_row(Text("this job", style="bold"), job["id"], job["status"])
    rows(children, "child", "(--json lists them)")
    title = Text.assemble(
        ("dependencies", "bold"),
        f" (if a parent does not succeed: {rule})" if parents else "",
    )
    return Group(title, table)


def batch_summary(jobs: Sequence[Job], elapsed_s: float, at: float) -> RenderableType:
    """A waited-for batch in a few lines: counts by final status, how long it took, and
    the jobs that did not succeed (the first few), rather than a row for every job."""
    counts = Counter(job["status"] for job in jobs)
    tally = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    parts: list[RenderableType] = [Text(f"{len(jobs)} jobs final in {elapsed_s:.1f}s: {tally}")]
    failed = [job for job in jobs if job["status"] != "succeeded"]
    if failed:
        table = _table("id", "status", "error")
        for job in failed[:FAILED_SHOWN]:
            table.add_row(job["id"], job["status"], Text((job["error"] or "").split("\n")[0]))
        parts.append(table)
        more = len(failed) - FAILED_SHOWN
        hint = "podium status ID shows one in full; --json prints every job"
        parts.append(Text(f"and {more} more not succeeded; {hint}" if more > 0 else hint))
    return Group(*parts)


def workers_table(workers: Iterable[Job], at: float) -> Table:
    """Workers with their state (available, busy, draining, lost), slots and prefetch, what
    they run, and their last heartbeat as an age (only the leader knows it: "-" elsewhere)."""
    table = _table("id", "state", "slots", "prefetch", "running", "heartbeat", "types")
    # worker ids are short: the 36-wide id column is for job ids
    table.columns[0].min_width = None
    for w in workers:
        heard = w.get("last_heartbeat")
        table.add_row(
            Text(w["id"]),
            w["state"],
            str(w["slots"]),
            str(w.get("prefetch", "-")),
            str(w["running"]),
            "-" if heard is None else f"{age(at - heard)} ago",
            Text(", ".join(w["types"])),
        )
    return table


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def limits_table(limits: Iterable[Job]) -> Table:
    """Limited and paused types: the limit, the bucket's tokens now, and how many pending
    jobs the limit (or the pause) holds back (``held``: the API's ``throttled``)."""
    # the type is what the next command takes: it never folds (as a job's id)
    table = _table(
        "type", "rate/s", "burst", "max run", "paused", "tokens", "running", "pending",
        "held", folding=(),
    )  # fmt: skip
    for t in limits:
        table.add_row(
            Text(t["type"]),
            _number(t["rate_per_s"]),
            _number(t["burst"]),
            _number(t["max_running"]),
            "yes" if t["paused"] else "no",
            _number(t["tokens"]),
            str(t["running"]),
            str(t["pending"]),
            str(t["throttled"]),
        )
    return table


def say(as_json: bool, console: Console, data: Any, text: RenderableType) -> None:
    """A command's answer: ``data`` as one JSON line with ``--json``, else ``text``."""
    if as_json:
        print(json.dumps(data))
    else:
        console.print(text)
