"""``podium schedule add|list|show|delete|pause|resume``: schedules from the command line.

``add`` reads as a submit with a timing: the schedule's name, then the job
as ``podium submit`` takes it (type, ``--payload``, ``--priority``, ...,
a shell command after ``--``), and when it runs::

    podium schedule add nightly shell --cron "0 3 * * *" --timezone Europe/Paris \\
        --catch-up one -- ./backup.sh
    podium schedule add heartbeat noop --every 30

Tables for people (times in local time with how far off), ``--json`` for
scripts; exit codes as every command's (404 for an unknown schedule is 4,
a name holding another definition 5).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from client import render
from client.api import Client, job_body
from transport.schedule_commands import CATCH_UP_RULES

__all__ = ["add_parser", "run", "schedule_detail", "schedule_table"]

Command = Callable[..., argparse.ArgumentParser]
Flags = Callable[[argparse.ArgumentParser], None]
Schedule = Mapping[str, Any]


def add_parser(command: Command, flags: Flags, job_flags: Flags) -> None:
    """The ``schedule`` command and its actions; ``command`` makes a top-level command,
    ``flags`` adds the options every command takes after it (``--json``, ``--url``...),
    ``job_flags`` the job's type and flags as ``submit`` has them."""
    schedule = command("schedule", help="periodic jobs: podium schedule add|list|show|...")
    sub = schedule.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, **options: Any) -> argparse.ArgumentParser:
        made = sub.add_parser(name, **options)
        flags(made)
        return made

    add = action(
        "add",
        help="define a schedule: podium schedule add NAME TYPE --cron EXPR [-- COMMAND]",
        epilog='e.g. podium schedule add nightly shell --cron "0 3 * * *" --catch-up one '
        "-- ./backup.sh",
    )
    add.add_argument("name", help="the schedule's name: letters, digits, '.', '_', ':', '-'")
    job_flags(add)
    timing = add.add_mutually_exclusive_group(required=True)
    timing.add_argument(
        "--cron", help='a cron expression, e.g. "*/5 * * * *" (5 fields; 6 with seconds first)'
    )
    timing.add_argument(
        "--every", type=float, dest="every_s", metavar="SECONDS", help="a period in seconds"
    )
    add.add_argument("--timezone", help="where the cron's clock is (default UTC)")
    add.add_argument(
        "--catch-up",
        choices=CATCH_UP_RULES,
        dest="catch_up",
        help="ticks missed while no leader could fire them: skip them (default), fire one "
        "job for them all, or one job each",
    )
    add.add_argument(
        "--unique-key",
        metavar="KEY",
        help="at most one live job with this key: a tick while the last one's job is pending "
        "or running makes none",
    )
    add.add_argument("--paused", action="store_true", help="define it paused (resume it later)")
    action("list", help="every schedule")
    for name, says in (
        ("show", "one schedule: its job, next run, last fired tick"),
        ("delete", "delete a schedule (the jobs it made stay)"),
        ("pause", "pause a schedule: no tick fires until it is resumed"),
        ("resume", "resume a schedule from now (ticks that fell while paused never fire)"),
    ):
        action(name, help=says).add_argument("name")


def run(
    client: Client,
    args: argparse.Namespace,
    console: Console,
    payload: Callable[[argparse.Namespace], dict[str, Any] | None],
) -> int:
    """Run ``podium schedule ACTION``; ``payload`` reads the job's payload from ``args``."""
    action = args.action
    at = render.now()
    data: Any
    text: RenderableType
    if action == "add":
        job = job_body(
            args.type,
            payload(args),
            priority=args.priority,
            max_retries=args.max_retries,
            timeout_s=args.timeout_s,
            unique_key=args.unique_key,
        )
        opts = {"cron": args.cron, "every_s": args.every_s, "timezone": args.timezone,
                "catch_up": args.catch_up, "paused": args.paused or None}  # fmt: skip
        data = client.add_schedule(args.name, job, **opts)
        text = _defined(data, at)
    elif action == "list":
        data = client.list_schedules()
        text = schedule_table(data, at) if data else "no schedules yet"
    elif action == "show":
        data = client.get_schedule(args.name)
        text = schedule_detail(data, at)
    elif action == "delete":
        data = {"name": args.name, **client.delete_schedule(args.name)}
        text = f"{args.name}: deleted"
    else:
        paused = action == "pause"
        data = client.pause_schedule(args.name) if paused else client.resume_schedule(args.name)
        text = f"{args.name}: {action}d{_next(data, at)}"
    render.say(args.json, console, data, text)
    return 0


def _defined(view: Schedule, at: float) -> str:
    state = "defined, paused" if view["paused"] else "defined"
    return f"{view['name']}: {state} ({_timing(view)}){_next(view, at)}"


def _next(view: Schedule, at: float) -> str:
    upcoming = view["next_run_at"]
    return "" if upcoming is None else f"; next run {render.when(upcoming, at)}"


def _timing(view: Schedule) -> str:
    if view["cron"] is not None:
        zone = view["timezone"]
        return f"cron {view['cron']}" + ("" if zone == "UTC" else f" {zone}")
    return f"every {view['every_s']:g}s"


def schedule_table(schedules: Iterable[Schedule], at: float) -> Table:
    """One line a schedule, by name: its timing, state, next run, last tick, ticks fired."""
    table = render._table("name", "when", "job", "state", "next run", "last fired", "fired",
                          folding=("name", "when", "job"))  # fmt: skip
    for view in schedules:
        table.add_row(
            Text(view["name"]),
            Text(_timing(view)),
            Text(view["job"]["type"]),
            "paused" if view["paused"] else "active",
            _relative(view["next_run_at"], at),
            _relative(view["last_fired"], at),
            str(view["fired"]),
        )
    return table


def _relative(epoch: float | None, at: float) -> str:
    if epoch is None:
        return "-"
    delta = at - epoch
    return f"{render.age(delta)} ago" if delta >= 0 else f"in {render.age(-delta)}"


def schedule_detail(view: Schedule, at: float) -> Table:
    """Every field of one schedule, its job as JSON."""
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    rows = [
        ("name", view["name"]),
        ("when", _timing(view)),
        ("catch up", view["catch_up"]),
        ("state", "paused" if view["paused"] else "active"),
        ("next run", render.when(view["next_run_at"], at)),
        ("last fired", render.when(view["last_fired"], at)),
        ("last job", view["last_job"] or "-"),
        ("ticks fired", str(view["fired"])),
        ("created", render.when(view["created_at"], at)),
        ("job", json.dumps(view["job"])),
    ]
    for name, value in rows:
        fields.add_row(name, Text(value))
    return fields
