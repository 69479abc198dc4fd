"""``podium``: the command line, over the Python client.

Tables for people, ``--json`` for scripts, and exit codes a script can act
on (:data:`EXIT`). Operator commands that need no API (``node``,
``hash-password``, ``certs init``, ``version``) are ``runtime.cli``'s.

The server is ``--url``, else ``$PODIUM_URL``, else the server of the last
``podium login``, else http://127.0.0.1:8080; any of them may list several
masters, comma-separated (``http://`` may be left out), and a command keeps
trying them through a failover for ``--retry-deadline`` seconds (default 30).
``podium login`` stores the token with its server in ``$PODIUM_TOKEN_FILE``
(default ``~/.config/podium/token``, mode 0600; :mod:`client.tokens`) and
later commands send it to that server only. The options before the command
(``--url``, ``--json``, ...) are taken after it too, where people put them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from client import render, schedule_cli
from client.api import DEFAULT_URL, Client, PodiumError, job_body
from client.failover import DEFAULT_RETRY_DEADLINE_S
from client.https import CaError
from client.tokens import TokenStore
from transport.job_options import PARENT_FAILURE_RULES

__all__ = ["EXIT", "main"]

# commands runtime.cli runs (they need no API), with what `podium --help` says of them
OPERATOR_COMMANDS = {
    "node": "run a node: the dev cluster, a master or a worker (podium node --help)",
    "hash-password": "prompt for a password and print its scrypt hash, for [[auth.users]]",
    "certs": "certs init: a cluster CA and a certificate per node, for mutual TLS",
    "version": "print the installed version",
}
# exit codes by HTTP status (0 = the server could not be reached)
EXIT = {400: 2, 413: 2, 401: 3, 403: 3, 404: 4, 409: 5, 0: 6, 503: 6}
JOB_NOT_SUCCEEDED = 1
# what a shell gives a command stopped by Ctrl-C (128 + SIGINT)
INTERRUPTED = 130
# a page of `podium list`, as the API takes it: 100 by default, at most 1,000 (--all pages on)
LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000
# the server parses times (one parser for every client), so the CLI passes them through as typed
WHEN_HELP = (
    "epoch seconds, or ISO 8601 with a zone (2026-11-01T09:30:00Z); "
    "a bare date like 2026-11-01 is midnight UTC"
)


def _global_options(parser: argparse.ArgumentParser, *, after: bool) -> None:
    """``--url``, ``--retry-deadline``, ``--ca``, ``--token`` and ``--json``: before the
    command, and (``after``) after it too, as people type them (``podium status ID
    --json``). After it, a flag not given sets nothing, so the one before the command
    (or its default) stands."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if after else value

    parser.add_argument(
        "--url",
        default=default(None),
        help="API address, or several comma-separated: 127.0.0.1:8001,127.0.0.1:8002 "
        "(http:// is assumed; default $PODIUM_URL, else the server of the last login, "
        f"else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--retry-deadline",
        type=float,
        default=default(DEFAULT_RETRY_DEADLINE_S),
        metavar="SECONDS",
        help="keep trying the masters for this long while none answers or all say 503 "
        f"(default {DEFAULT_RETRY_DEADLINE_S:g})",
    )
    parser.add_argument("--ca", default=default(None), metavar="PEM",
                        help="CA bundle that signed an https:// API's certificate "
                        "(default $PODIUM_CA, else the system's)")  # fmt: skip
    parser.add_argument("--token", default=default(None),
                        help="bearer token (default: the one `podium login` stored)")  # fmt: skip
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print JSON only")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="podium job scheduler")
    _global_options(parser, after=False)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **options: Any) -> argparse.ArgumentParser:
        made = sub.add_parser(name, **options)
        _global_options(made, after=True)
        return made

    submit = command("submit", help="submit a job: podium submit shell -- echo hi")
    job_flags(submit)
    when = submit.add_mutually_exclusive_group()
    when.add_argument("--delay", type=float, dest="delay_s", help="run after this many s")
    when.add_argument(
        "--run-at",
        metavar="WHEN",
        help="run at this time: epoch seconds, or ISO 8601 with a zone (2026-11-01T09:30:00Z)",
    )
    submit.add_argument(
        "--key",
        dest="idempotency_key",
        help="idempotency key: a second submit with it makes no second job",
    )
    submit.add_argument(
        "--unique-key",
        metavar="KEY",
        help="at most one live job with this key: while one is pending or running, a submit "
        "returns it (deduplicated) instead of making another",
    )
    submit.add_argument(
        "--depends-on",
        action="append",
        metavar="ID",
        help="wait until job ID is final (repeat it, or give IDs comma-separated)",
    )
    submit.add_argument(
        "--on-parent-failure",
        choices=PARENT_FAILURE_RULES,
        help="when a parent does not succeed: fail (default), skip, or run anyway",
    )
    submit.add_argument("--count", type=int, default=1, help="submit N copies as one batch")
    submit.add_argument(
        "--wait",
        action="store_true",
        help="wait until every job is final (Ctrl-C stops the waiting, not the jobs)",
    )
    submit.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the job ids, one a line: ID=$(podium submit -q ...)",
    )
    submit.epilog = "A shell job's command goes after --: podium submit shell -- ls -l /tmp"
    schedule_cli.add_parser(command, lambda made: _global_options(made, after=True), job_flags)

    status = command("status", help="one job")
    status.add_argument("id")
    logs = command("logs", help="what a job's attempt printed and logged")
    logs.add_argument("id")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="keep printing as the attempt writes, until it ends")  # fmt: skip
    logs.add_argument("--attempt", type=int, metavar="N", help="attempt N (default: the latest)")
    listing = command("list", help="jobs, as a table (newest first)")
    listing.add_argument("--status")
    listing.add_argument("--type")
    listing.add_argument(
        "--limit",
        type=_page_size,
        default=LIST_LIMIT_DEFAULT,
        help=f"jobs a page (default {LIST_LIMIT_DEFAULT}, at most {LIST_LIMIT_MAX})",
    )
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument("--cursor", help="the next page: the cursor a previous page printed")
    pages.add_argument("--all", action="store_true", help="every matching job, page after page")
    listing.add_argument("--order", choices=("desc", "asc"), default="desc",
                         help="desc: newest first (default); asc: oldest first")  # fmt: skip
    listing.add_argument("--since", metavar="WHEN", help=f"created at or after: {WHEN_HELP}")
    listing.add_argument("--until", metavar="WHEN", help=f"created before: {WHEN_HELP}")
    cancel = command(
        "cancel", help="cancel a job, several (ids), or every live job matching the filters"
    )
    cancel.add_argument("ids", nargs="*", metavar="ID")
    cancel.add_argument("--type", help="live jobs of this type")
    cancel.add_argument("--status", action="append", metavar="S",
                        help="pending, scheduled, blocked or running; repeat or "
                             "comma-separate")  # fmt: skip
    cancel.add_argument("--schedule", metavar="NAME", help="jobs fired by this schedule")
    command("retry", help="retry a job").add_argument("id")
    limit = command("limit", help="rate and concurrency limits per job type: set, list, clear")
    limits = limit.add_subparsers(dest="limit_command", required=True)
    limit_set = limits.add_parser("set", help="limit a type (replaces its limit)")
    _global_options(limit_set, after=True)
    limit_set.add_argument("type")
    limit_set.add_argument(
        "--rate",
        type=float,
        dest="rate_per_s",
        metavar="PER_S",
        help="at most this many starts a second, across the cluster",
    )
    limit_set.add_argument(
        "--burst", type=float, help="tokens the rate's bucket holds (default: a second's worth)"
    )
    limit_set.add_argument(
        "--max-running", type=int, metavar="N", help="at most N running at once, cluster-wide"
    )
    _global_options(limits.add_parser("list", help="limited and paused types"), after=True)
    limit_clear = limits.add_parser("clear", help="remove a type's limit")
    _global_options(limit_clear, after=True)
    limit_clear.add_argument("type")
    for name, says in (("pause", "start no more jobs of a type (running ones finish)"),
                       ("resume", "start jobs of a paused type again")):  # fmt: skip
        command(name, help=says).add_argument("type")
    delete = command("delete", help="delete a final job for good (cancel a live one first)")
    delete.add_argument("id")
    purge = command("purge", help="delete final jobs in bulk (no flags: all of them)")
    purge.add_argument("--status", action="append", metavar="S",
                       help="succeeded, failed, dead or cancelled; repeat or comma-separate "
                            "(default: every final status)")  # fmt: skip
    purge.add_argument("--type", help="only jobs of this type")
    purge.add_argument(
        "--before", metavar="WHEN", help=f"only jobs that finished before: {WHEN_HELP}"
    )
    events = command("events", help="live events, one line each, until Ctrl-C")
    events.add_argument("--type", help="event types or families (job, worker, leader), "
                        "comma-separated: job.finished,job.dead")  # fmt: skip
    events.add_argument("--job", metavar="ID", help="only this job's events")
    events.add_argument("--status", help="only events with this job status: succeeded, dead...")
    events.add_argument(
        "--last-event-id", metavar="ID", help="start after this event id (default: from now)"
    )
    command("workers", help="workers and what they run")
    command("cluster", help="masters, leader and term")
    command("stats", help="counts by status and type, queue depth")
    login = command("login", help="get a token and store it for later commands")
    login.add_argument("username")
    for name, says in sorted(OPERATOR_COMMANDS.items()):
        sub.add_parser(name, help=says, add_help=False)
    return parser


def job_flags(parser: argparse.ArgumentParser) -> None:
    """A job's type and its flags, as ``submit`` takes them (and ``schedule add``); a
    shell job's command goes after ``--`` (``argv``)."""
    parser.add_argument("type", help="job type: shell, sleep, noop, or a handler's")
    parser.add_argument("--payload", help="payload as a JSON object")
    parser.add_argument("--priority", type=int, help="0..9, higher runs first (default 5)")
    parser.add_argument("--retries", type=int, dest="max_retries", help="max retries (default 3)")
    parser.add_argument("--timeout", type=float, dest="timeout_s", help="seconds per attempt")
    parser.set_defaults(argv=[])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in OPERATOR_COMMANDS:
        from runtime.cli import main as operator_main

        return operator_main(args)
    parsed = _parse(args)
    store = TokenStore.load()
    url = parsed.url or os.environ.get("PODIUM_URL") or store.current or DEFAULT_URL
    console = Console()
    try:
        token = parsed.token or store.token_for(url)
        client = Client(url, token=token, retry_deadline_s=parsed.retry_deadline, ca=parsed.ca)
    except CaError as exc:
        print(f"podium: --ca: {exc}", file=sys.stderr)
        return EXIT[400]
    except ValueError as exc:
        print(f"podium: --url: {exc}", file=sys.stderr)
        return EXIT[400]
    try:
        with client:
            return _run(client, parsed, console, store)
    except PodiumError as exc:
        if parsed.json:
            print(json.dumps({"error": exc.message, "status": exc.status}))
        else:
            Console(stderr=True).print(f"[red]error[/red]: {exc.message}")
        return EXIT.get(exc.status, 1)
    except KeyboardInterrupt:
        # before an answer came: what was sent may or may not have been applied
        print("podium: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # `podium list | head`: the reader left; say nothing more (stdout is gone, and
        # Python's own flush at exit would complain again without this)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parse(args: list[str]) -> argparse.Namespace:
    """The command line, with a shell job's command taken from after ``--``; words left
    over after ``submit TYPE`` get the command line that was meant, rather than only
    "unrecognized arguments"."""
    parser = _parser()
    # everything after "--" is a shell job's command, never options (argparse's subparsers
    # do not pass "--" through to a positional, so it is split off here)
    command_argv: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, command_argv = args[:cut], args[cut + 1 :]
    parsed, extra = parser.parse_known_args(args)
    # the commands that take one: submit and schedule add (job_flags gives them argv)
    takes_command = hasattr(parsed, "argv")
    if extra:
        unknown = f"unrecognized arguments: {' '.join(extra)}"
        if not takes_command or command_argv:
            parser.error(unknown)
        rest = list(args)
        for word in extra:
            rest.remove(word)
        meant = shlex.join(["podium", *rest, "--", *extra])
        parser.error(f"{unknown}\nhint: a command goes after --: {meant}")
    if command_argv:
        if not takes_command:
            parser.error("only submit and schedule add take a command after --")
        parsed.argv = command_argv
    return parsed


def _logs(client: Client, args: argparse.Namespace) -> int:
    """The output as written (no markup: it is the job's, to pipe or grep)."""
    if args.follow:
        for text in client.follow_logs(args.id, args.attempt):
            sys.stdout.write(text)
            sys.stdout.flush()
    else:
        sys.stdout.write(client.logs(args.id, args.attempt))
    return 0


def _page_size(text: str) -> int:
    """``--limit``, refused here as the API would refuse it, with what to use instead."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= LIST_LIMIT_MAX:
        raise argparse.ArgumentTypeError(
            f"must be from 1 to {LIST_LIMIT_MAX}, got {text!r} (--all lists every job)"
        )
    return int(text)


def _run(client: Client, args: argparse.Namespace, console: Console, store: TokenStore) -> int:
    command = args.command
    if command == "submit":
        return _submit(client, args, console)
    if command == "login":
        return _login(client, args, console, store)
    if command == "status":
        job = client.get(args.id)
        if args.json:
            print(json.dumps(job))
        else:
            console.print(render.job_detail(job, render.now()))
            related = render.graph_ids(job)
            if related:
                found = client.get_many(related)["jobs"]
                console.print(render.job_graph(job, {j["id"]: j for j in found}))
        return 0
    if command == "list":
        return _list(client, args, console)
    if command == "events":
        return _events(client, args)
    if command == "logs":
        return _logs(client, args)
    if command == "schedule":
        return schedule_cli.run(client, args, console, job_payload)
    if command == "cancel":
        return _cancel(client, args, console)
    if command == "retry":
        changed = client.retry(args.id)
        render.say(args.json, console, changed, f"{changed['id']}: {changed['status']}")
        return 0
    if command == "limit":
        return _limit(client, args, console)
    if command in ("pause", "resume"):
        pause = command == "pause"
        view = client.pause_type(args.type) if pause else client.resume_type(args.type)
        held = f"; {view['throttled']} pending held" if pause else ""
        render.say(
            args.json, console, view, f"{args.type}: {'paused' if pause else 'resumed'}{held}"
        )
        return 0
    if command == "delete":
        deleted = client.delete(args.id)
        render.say(args.json, console, {"id": args.id, **deleted}, f"{args.id}: deleted")
        return 0
    if command == "purge":
        deleted = client.purge(status=_statuses(args.status), type=args.type, before=args.before)
        n = deleted["deleted"]
        render.say(args.json, console, deleted, f"deleted {n} job{'' if n == 1 else 's'}")
        return 0
    if command == "workers":
        workers = client.workers()
        render.say(args.json, console, workers, render.workers_table(workers, render.now()))
        return 0
    if command in ("cluster", "stats"):
        info = client.cluster() if command == "cluster" else client.stats()
        if args.json:
            print(json.dumps(info))
        else:
            table = Table("field", "value")
            for key, value in info.items():
                table.add_row(
                    key, json.dumps(value) if isinstance(value, dict | list) else str(value)
                )
            console.print(table)
        return 0
    raise AssertionError(command)


def _list(client: Client, args: argparse.Namespace, console: Console) -> int:
    """A page of jobs, newest first (``--order asc``: oldest first), and the command for
    the next page; ``--all`` pages through every match."""
    query = {"status": args.status, "type": args.type, "order": args.order,
             "since": args.since, "until": args.until}  # fmt: skip
    if args.all:
        jobs: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = client.list(limit=LIST_LIMIT_MAX, cursor=cursor, **query)
            jobs += page["jobs"]
            cursor = page["cursor"]
            if not cursor:
                break
        page = {"jobs": jobs, "cursor": None}
    else:
        page = client.list(limit=args.limit, cursor=args.cursor, **query)
    if args.json:
        print(json.dumps(page))
        return 0
    if page["jobs"]:
        console.print(render.job_table(page["jobs"], render.now()))
    else:
        console.print("no jobs" + (" match" if any(query.values()) else " yet"))
    if page["cursor"]:
        console.print(f"more: {_next_page(args, page['cursor'])}  (or --all)", markup=False,
                      highlight=False, soft_wrap=True)  # fmt: skip
    return 0


def _next_page(args: argparse.Namespace, cursor: str) -> str:
    """The ``podium list`` command line that shows the page after this one."""
    words = ["podium", "list"]
    for flag in ("status", "type", "since", "until"):
        value = getattr(args, flag)
        if value is not None:
            words += [f"--{flag}", shlex.quote(value)]
    if args.order != "desc":
        words += ["--order", args.order]
    if args.limit != LIST_LIMIT_DEFAULT:
        words += ["--limit", str(args.limit)]
    return " ".join([*words, "--cursor", cursor])


def _cancel(client: Client, args: argparse.Namespace, console: Console) -> int:
    """One id: the single cancel (409 when the job is already final). Several ids, or the
    filters: one bulk cancel of whatever of it is live, counted."""
    filters = {
        "type": args.type,
        "status": _listed(
            args.status, "--status needs a status: pending, scheduled, blocked or running"
        ),
        "schedule": args.schedule,
    }
    given = {k: v for k, v in filters.items() if v is not None}
    if args.ids and given:
        raise PodiumError(400, "give job ids or filters (--type, --status, --schedule), not both")
    if not args.ids and not given:
        raise PodiumError(
            400, "name the jobs: podium cancel ID [ID...], or --type, --status, --schedule"
        )
    if len(args.ids) == 1:
        changed = client.cancel(args.ids[0])
        render.say(args.json, console, changed, f"{changed['id']}: {changed['status']}")
        return 0
    n = client.cancel_many(args.ids or None, **given)
    render.say(args.json, console, {"cancelled": n}, f"cancelled {n} job{'' if n == 1 else 's'}")
    return 0


def _limit(client: Client, args: argparse.Namespace, console: Console) -> int:
    if args.limit_command == "set":
        view = client.set_limit(
            args.type, rate_per_s=args.rate_per_s, burst=args.burst, max_running=args.max_running
        )
        render.say(args.json, console, view, render.limits_table([view]))
        return 0
    if args.limit_command == "clear":
        view = client.clear_limit(args.type)
        render.say(args.json, console, view, f"{args.type}: limit cleared")
        return 0
    limits = client.limits()
    if args.json:
        print(json.dumps(limits))
    elif limits:
        console.print(render.limits_table(limits))
    else:
        console.print("no type is limited or paused")
    return 0


def _listed(given: list[str] | None, needs: str) -> list[str] | None:
    """A flag's values, repeated or comma-separated; None only when the flag is absent (an
    empty value is refused with ``needs``, rather than taken as no flag)."""
    if given is None:
        return None
    values = [v.strip() for text in given for v in text.split(",") if v.strip()]
    if not values:
        raise PodiumError(400, needs)
    return values


def _ids(given: list[str] | None) -> list[str] | None:
    """``--depends-on`` values."""
    return _listed(given, "--depends-on needs a job id")


def _events(client: Client, args: argparse.Namespace) -> int:
    """Print events as they come (``--json``: one JSON object a line) until Ctrl-C."""
    try:
        stream = client.events(
            type=args.type, job=args.job, status=args.status, last_event_id=args.last_event_id
        )
        for event in stream:
            print(json.dumps(event) if args.json else render.event_line(event), flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def _statuses(given: list[str] | None) -> list[str] | None:
    """``--status`` values; None (every final status) only when the flag is absent, so an
    empty ``--status "$S"`` can never widen a purge to everything."""
    return _listed(given, "--status needs a status: succeeded, failed, dead or cancelled")


def _login(client: Client, args: argparse.Namespace, console: Console, store: TokenStore) -> int:
    """Get a token and keep it with its server; a server with auth off needs none, which
    is said (exit 0), not reported as a missing endpoint."""
    password = getpass.getpass() if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        token = client.login(args.username, password)
    except PodiumError as exc:
        if exc.status != 404:
            raise
        render.say(args.json, console, {"auth": "off", "url": client.url},
                   f"auth is off at {client.url}: no login needed, every command works "
                   "without a token")  # fmt: skip
        return 0
    store.save(client.url, token)
    saved = {"user": args.username, "url": client.url, "token_file": str(store.path)}
    told = (
        f"logged in as {args.username} at {client.url}; token stored in {store.path} "
        "(later commands use this server unless --url or $PODIUM_URL names another)"
    )
    render.say(args.json, console, saved, told)
    return 0


def job_payload(args: argparse.Namespace) -> dict[str, Any] | None:
    """The job's payload from ``--payload`` and a shell command after ``--``, for the
    commands with :func:`job_flags` (None when neither is given)."""
    payload: dict[str, Any] | None = None
    if args.payload is not None:
        try:
            payload = json.loads(args.payload)
        except ValueError as exc:
            raise PodiumError(400, f"--payload is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise PodiumError(400, "--payload must be a JSON object, like '{\"seconds\": 2}'")
    if args.argv:
        payload = {**(payload or {}), "argv": list(args.argv)}
    return payload


def _submit(client: Client, args: argparse.Namespace, console: Console) -> int:
    payload = job_payload(args)
    options = {
        "priority": args.priority,
        "max_retries": args.max_retries,
        "timeout_s": args.timeout_s,
        "delay_s": args.delay_s,
        "run_at": args.run_at,
        "idempotency_key": args.idempotency_key,
        "unique_key": args.unique_key,
        "depends_on": _ids(args.depends_on),
        "on_parent_failure": args.on_parent_failure,
    }
    started = time.monotonic()
    if args.count == 1:
        accepted = [client.submit(args.type, payload, **options)]
    else:
        accepted = client.submit_batch(
            [job_body(args.type, payload, **options) for _ in range(args.count)]
        )
    # one key makes one job, however many submits carry it
    ids = list(dict.fromkeys(job["id"] for job in accepted))
    if len(ids) < len(accepted) and not args.json:
        print(f"podium: the {len(accepted)} submits share --key {args.idempotency_key}, so "
              f"they are {len(ids)} job{'' if len(ids) == 1 else 's'} (a key makes a job "
              f"once); leave --key out for {len(accepted)} jobs", file=sys.stderr)  # fmt: skip
    if not args.wait:
        if args.json:
            print(json.dumps(accepted if args.count > 1 else accepted[0]))
        else:
            statuses = {job["id"]: job["status"] for job in accepted}
            for job_id in ids:
                console.print(job_id if args.quiet else f"{job_id}  {statuses[job_id]}")
        return 0
    try:
        final = _wait(client, ids, args, console)
    except KeyboardInterrupt:
        return _stopped_waiting(accepted, ids, args)
    jobs = [final[i] for i in ids]
    if args.json:
        print(json.dumps([final[job["id"]] for job in accepted] if args.count > 1 else jobs[0]))
    elif args.quiet:
        print("\n".join(ids))
    elif len(jobs) == 1:
        console.print(render.job_detail(jobs[0], render.now()))
    else:
        console.print(render.batch_summary(jobs, time.monotonic() - started, render.now()))
    return 0 if all(job["status"] == "succeeded" for job in jobs) else JOB_NOT_SUCCEEDED


def _wait(
    client: Client, ids: list[str], args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    if args.json or args.quiet or not console.is_terminal:
        # a bar is for a person watching; in a pipe or a log it would only leave a blank line
        return client.wait(ids)
    with Progress(
        TextColumn("waiting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("jobs", total=len(ids))
        return client.wait(ids, on_progress=lambda done, _: progress.update(task, completed=done))


def _stopped_waiting(
    accepted: list[dict[str, Any]], ids: list[str], args: argparse.Namespace
) -> int:
    """Ctrl-C during ``--wait`` stops the waiting, not the jobs: their ids are printed (on
    stdout, as a submit without ``--wait`` prints them) so they can still be followed."""
    if args.json:
        print(json.dumps(accepted if args.count > 1 else accepted[0]))
    else:
        print("\n".join(ids))
    jobs = "the job goes" if len(ids) == 1 else f"the {len(ids)} jobs go"
    print(
        f"podium: interrupted; stopped waiting, {jobs} on: "
        "podium status ID follows one, podium cancel ID stops it",
        file=sys.stderr,
    )
    return INTERRUPTED
