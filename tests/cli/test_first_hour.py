"""The first hour with podium, as a new user spends it (issue 14): ``make run``, the commands
it prints, ``podium node --handlers`` from their own folder, waiting on a big batch, reading
what failed, and paging through ``podium list``, all against real node processes."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.loopback import LoopbackCluster, free_ports
from client import Client, PodiumError
from client.api import job_body
from client.cli import EXIT, JOB_NOT_SUCCEEDED, main
from tests.cli.commands import PODIUM, ROOT, UUID, VENV, stop, user_env
from tests.dev_node import dev_node, http_url, native_url
from tests.waits import wait_ready


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "first-hour")


@pytest.fixture(scope="module")
def node(dev: LoopbackCluster) -> str:
    return http_url(dev)


@pytest.fixture
def columns80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def test_make_run_prints_commands_that_work_as_printed(tmp_path: Path) -> None:
    """Item 1: after `make run`, the printed `podium` and `python -m sim` lines run as
    they are (nothing on PATH, no venv activated)."""
    http, listen = free_ports(2)
    stamp = VENV / ".installed"  # -o: use this venv as installed, whatever its age
    make = subprocess.Popen(
        ["make", "-s", "-C", str(ROOT), "-o", str(stamp), "run", f"VENV={VENV}",
         f"NODE_ARGS=--http 127.0.0.1:{http} --listen 127.0.0.1:{listen} "
         f"--data {tmp_path / 'data'}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"}, start_new_session=True,
    )  # fmt: skip
    try:
        assert make.stdout is not None
        banner: list[str] = []
        for line in make.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Starting a development node"):
                break
        wait_ready(f"http://127.0.0.1:{http}")
        commands = [shlex.split(line.split("#")[0]) for line in banner if line.startswith("  /")]
        assert [c[1:] for c in commands] == [
            ["submit", "shell", "--wait", "--", "echo", "hello"],
            ["list"],
            ["-m", "sim", "list"],
        ]
        assert all(c[0].startswith(str(VENV)) for c in commands)
        assert f"source {VENV}/bin/activate" in "\n".join(banner)
        env = user_env(PODIUM_URL=f"http://127.0.0.1:{http}", PATH="/usr/bin:/bin")
        ran = [
            subprocess.run(c, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
            for c in commands
        ]
        assert [r.returncode for r in ran] == [0, 0, 0], [r.stderr[-2000:] for r in ran]
        hello, listed, scenarios = (r.stdout for r in ran)
        assert "stdout:\nhello" in hello and "exit code: 0" in hello
        made = UUID.search(hello)
        assert made is not None and made[0] in listed
        assert "pingpong" in scenarios and "jobs_chaos" in scenarios
    finally:
        stop(make)


@pytest.mark.parametrize("how", ["podium", "python -m runtime.node"])
def test_a_handlers_module_in_the_working_directory_loads(tmp_path: Path, how: str) -> None:
    """Item 3: `podium node --handlers myjobs` works from the folder holding myjobs.py,
    exactly as `python -m runtime.node --handlers myjobs` does."""
    (tmp_path / "myjobs.py").write_text(
        "from actors.worker.handlers import handler\n\n\n"
        '@handler("greet")\n'
        "def greet(payload):\n"
        '    return "hello " + payload["name"]\n'
    )
    http, listen = free_ports(2)
    start = [str(PODIUM), "node"] if how == "podium" else [sys.executable, "-m", "runtime.node"]
    flags = ["--handlers", "myjobs", "--http", f"127.0.0.1:{http}",
             "--listen", f"127.0.0.1:{listen}", "--data", str(tmp_path / "data")]  # fmt: skip
    process = subprocess.Popen(
        [*start, *flags], cwd=tmp_path, env=user_env(), text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{http}"
        try:
            wait_ready(url)
        except TimeoutError:
            stop(process)
            raise AssertionError(process.stderr.read() if process.stderr else "") from None
        with Client(url) as c:
            job = c.submit("greet", {"name": "ada"})
            done = c.wait([job["id"]], timeout=60)[job["id"]]
        assert done["status"] == "succeeded" and done["result"] == "hello ada"
    finally:
        stop(process)


class CountingTransport(httpx.HTTPTransport):
    """Counts the requests a client sends, by path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


def test_waiting_on_2000_jobs_is_one_request_a_round(node: str) -> None:
    """Item 8: a wait asks about every job still running at once, not one by one."""
    counting = CountingTransport()
    with Client(node, transport=counting) as c:
        ids = [j["id"] for j in c.submit_batch([job_body("noop")] * 2000)]
        started = time.monotonic()
        final = c.wait(ids, timeout=120)
        waited = time.monotonic() - started
    assert len(final) == 2000 and {j["status"] for j in final.values()} == {"succeeded"}
    rounds = counting.paths.count("/api/v1/jobs/status")
    assert counting.paths == ["/api/v1/jobs/batch"] + ["/api/v1/jobs/status"] * rounds
    # rounds back off from 20 ms to poll_s (0.2 s): a handful a second, never one a job
    assert rounds <= 10 + 5 * waited


def test_podium_count_2000_wait_takes_little_more_than_the_jobs(
    node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["--url", node, "submit", "noop", "--count", "2000", "--wait", "--json"]) == 0
    took = time.monotonic() - started
    jobs = json.loads(capsys.readouterr().out)
    assert len(jobs) == 2000 and {j["status"] for j in jobs} == {"succeeded"}
    ran = max(j["finished_at"] for j in jobs) - min(j["created_at"] for j in jobs)
    # one request a round: the wait adds well under a second to the jobs' own time
    # (one request per job took 9.9-11 s here for jobs that ran in 1.5-3.4 s)
    print(f"2000 jobs ran in {ran:.2f} s; submit + wait took {took:.2f} s")
    assert took < ran + 2.0


def test_many_jobs_in_one_read_over_http_and_native(node: str) -> None:
    """POST /api/v1/jobs/status: live and finished jobs in the order asked, a repeated id
    once, unknown ids under "missing"; the native protocol answers the same."""
    with Client(node) as c:
        done = c.submit("noop")["id"]
        c.wait([done], timeout=30)
        later = c.submit("noop", delay_s=600)["id"]
        answer = c.get_many([later, "nope", done, later])
        assert [j["id"] for j in answer["jobs"]] == [later, done]
        assert [j["status"] for j in answer["jobs"]] == ["scheduled", "succeeded"]
        assert answer["missing"] == ["nope"]
        assert c.get_many([done], stale=True)["jobs"][0]["status"] == "succeeded"
        for body in ({}, {"ids": []}, {"ids": [1]}, {"ids": [""]}, {"ids": ["x"], "more": 1},
                     {"ids": ["x"] * 10_001}, ["x"]):  # fmt: skip
            refused = httpx.post(f"{node}/api/v1/jobs/status", json=body, timeout=10)
            assert refused.status_code == 400, body
            assert "1 to 10000 job ids" in refused.json()["error"]
        with pytest.raises(PodiumError) as unknown:
            c.wait(["nope"], timeout=5)
        assert unknown.value.status == 404 and "'nope' not found" in unknown.value.message
        c.cancel(later)


def test_the_native_client_reads_many_jobs_too(dev: LoopbackCluster) -> None:
    with Client(native_url(dev)) as c:
        ids = [j["id"] for j in c.submit_batch([job_body("noop")] * 50)]
        final = c.wait(ids, timeout=60)
        assert {j["status"] for j in final.values()} == {"succeeded"}
        answer = c.get_many([ids[0], "nope"])
    assert [j["id"] for j in answer["jobs"]] == [ids[0]] and answer["missing"] == ["nope"]


def ids_whole(text: str, ids: list[str]) -> None:
    for job_id in ids:
        assert job_id in text, f"{job_id} cut or missing in:\n{text}"
    assert "…" not in text


def test_no_id_is_ever_cut_at_80_columns(
    node: str, capsys: pytest.CaptureFixture[str], columns80: None
) -> None:
    """Item 6: ids are what the next command takes; at 80 columns they stay whole, in every
    table, however long the other cells."""
    with Client(node) as c:
        # a job type no worker runs, with a long name: it waits, scheduled, and is cancelled
        long_type = "a_handler_type_with_a_name_long_enough_to_crowd_the_table"
        odd = c.submit(long_type, delay_s=600)["id"]
    assert main(["--url", node, "submit", "shell", "--count", "3", "--retries", "0",
                 "--wait", "--", "false"]) == JOB_NOT_SUCCEEDED  # fmt: skip
    summary = capsys.readouterr().out
    failed = UUID.findall(summary)
    assert len(failed) == 3
    ids_whole(summary, failed)
    assert main(["--url", node, "list", "--limit", "4"]) == 0
    listed = capsys.readouterr().out
    ids_whole(listed, [odd, *failed])
    assert "a_handle" in listed  # the long type folds within its own column
    assert main(["--url", node, "status", odd]) == 0
    ids_whole(capsys.readouterr().out, [odd])
    assert all(len(line) <= 80 for line in (summary + listed).splitlines())
    assert main(["--url", node, "cancel", odd]) == 0


def test_status_of_a_failed_shell_job_shows_why(
    node: str, capsys: pytest.CaptureFixture[str], columns80: None
) -> None:
    script = "echo started; for i in $(seq 1 30); do echo problem $i >&2; done; exit 3"
    assert main(["--url", node, "--json", "submit", "shell", "--retries", "0", "--wait",
                 "--", "sh", "-c", script]) == JOB_NOT_SUCCEEDED  # fmt: skip
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "dead"
    assert main(["--url", node, "status", job["id"]]) == 0
    shown = capsys.readouterr().out
    assert "error: exit code 3" in shown and "exit code: 3" in shown
    assert "stdout:\nstarted" in shown
    assert "stderr (last 20 of 30 lines; --json for all):\nproblem 11\n" in shown
    assert "problem 30" in shown and "problem 10\n" not in shown
    # times as people read them: a date, a time and an age, no raw epoch
    assert re.search(r"finished\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d", shown)
    assert str(int(job["created_at"])) not in shown


def test_count_wait_prints_a_summary_and_json_prints_every_job(
    node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", node, "submit", "noop", "--count", "100", "--wait"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"100 jobs final in \d+\.\ds: 100 succeeded\n", out), out
    assert main(["--url", node, "submit", "noop", "--count", "100", "--wait", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 100


def test_workers_show_state_prefetch_and_a_heartbeat_age(
    node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", node, "workers"]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[:2]
    assert header.split() == ["id", "state", "slots", "prefetch", "running", "heartbeat", "types"]
    assert re.match(r"m1\s+(available|busy)\s+4\s+4\s+\d+\s+\d+\.\ds ago\s+noop", row), row
    assert not re.search(r"\d{10}", out)


def test_list_is_newest_first_and_pages_on_with_the_printed_cursor(
    node: str, capsys: pytest.CaptureFixture[str], columns80: None
) -> None:
    """Item 7: newest first; a page that is not the last prints the command for the next
    one; --all reads every page; --limit is refused above the API's 1,000 with a pointer
    to --all instead of a hint it would then refuse."""
    with Client(node) as c:
        ids = [c.submit("noop", delay_s=600)["id"] for _ in range(3)]
        since = repr(c.get(ids[0])["created_at"])
    assert main(["--url", node, "list", "--since", since, "--limit", "2"]) == 0
    first = capsys.readouterr().out
    assert UUID.findall(first) == [ids[2], ids[1]]
    more = re.search(r"^more: (podium list .*)  \(or --all\)$", first, re.M)
    assert more is not None
    next_page = shlex.split(more[1])[2:]
    assert next_page[:4] == ["--since", since, "--limit", "2"] and next_page[4] == "--cursor"
    assert main(["--url", node, "list", *next_page]) == 0
    second = capsys.readouterr().out
    assert UUID.findall(second) == [ids[0]] and "more:" not in second
    assert main(["--url", node, "list", "--since", since, "--all", "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert [j["id"] for j in everything["jobs"]] == ids[::-1] and everything["cursor"] is None
    assert main(["--url", node, "list", "--since", since, "--order", "asc"]) == 0
    assert UUID.findall(capsys.readouterr().out) == ids
    with pytest.raises(SystemExit) as refused:
        main(["--url", node, "list", "--limit", "5000"])
    assert refused.value.code == EXIT[400]
    assert "must be from 1 to 1000, got '5000' (--all lists every job)" in capsys.readouterr().err
    for job_id in ids:
        assert main(["--url", node, "cancel", job_id]) == 0


def test_status_shows_every_failed_attempt_and_what_a_job_waits_for(
    node: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 4: each attempt's error is kept; item 5: a job nobody handles says why."""
    failing = ["sh", "-c", "echo boom $PODIUM_X >&2; exit 2"]
    assert main(["--url", node, "--json", "submit", "shell", "--retries", "1", "--wait",
                 "--", *failing]) == JOB_NOT_SUCCEEDED  # fmt: skip
    job = json.loads(capsys.readouterr().out)
    assert [(a["attempt"], a["reason"]) for a in job["attempts_log"]] == [
        (1, "error"),
        (2, "error"),
    ]
    assert all(a["error"].startswith("exit code 2") for a in job["attempts_log"])
    assert main(["--url", node, "status", job["id"]]) == 0
    shown = capsys.readouterr().out
    assert re.search(r"earlier attempts:\n  #1 on m1, \d{4}-.*: error: exit code 2", shown), shown
    assert main(["--url", node, "--json", "submit", "resize"]) == 0
    waiting = json.loads(capsys.readouterr().out)
    assert main(["--url", node, "status", waiting["id"]]) == 0
    shown = capsys.readouterr().out
    assert "waiting for  a worker that handles type 'resize' (none is connected)" in shown
    assert main(["--url", node, "cancel", waiting["id"]]) == 0
