"""The first hour, items 9, 10 and 12 of issue 14: each command run as a person types it (the
installed ``podium`` script in a subprocess), checking what they would see: the output, the
exit code, and never a traceback."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.loopback import free_ports
from client import Client
from client.tokens import TokenStore
from runtime.passwords import hash_password, verify_password
from tests.cli.commands import PODIUM, UUID, stop, user_env
from tests.dev_node import dev_node_url
from tests.waits import ctrl_c_default, wait_for, wait_ready


def podium(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(PODIUM), *args], input=stdin, capture_output=True, text=True, timeout=120,
        env=env or user_env(), cwd=cwd,
    )  # fmt: skip
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from dev_node_url(tmp_path_factory, "typed")


@pytest.fixture
def token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every command here reads and writes its token file under tmp_path, not ~."""
    path = tmp_path / "token"
    monkeypatch.setenv("PODIUM_TOKEN_FILE", str(path))
    monkeypatch.delenv("PODIUM_URL", raising=False)
    return path


# -- item 9: flags where people put them ----------------------------------------------------


def test_options_after_the_command_and_a_url_without_http(node: str, token_file: Path) -> None:
    bare = node.removeprefix("http://")  # 127.0.0.1:PORT, the form `--http` takes
    made = podium("--url", bare, "submit", "noop", "-q")
    assert made.returncode == 0 and UUID.fullmatch(made.stdout.strip()), made.stderr
    job_id = made.stdout.strip()
    shown = podium("status", job_id, "--json", "--url", bare)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == job_id
    listed = podium("list", "--url", node, "--retry-deadline", "5", "--limit", "1", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["jobs"][0]["id"] == job_id
    # one written after the command wins over one before it, as the later word should
    nowhere = podium("--url", bare, "stats", "--url", "127.0.0.1:9", "--retry-deadline", "0")
    assert nowhere.returncode == 6 and "cannot reach http://127.0.0.1:9" in nowhere.stderr


def test_a_shell_command_without_dashes_gets_the_line_it_meant(token_file: Path) -> None:
    done = podium("submit", "shell", "echo", "hi", "--wait")
    assert done.returncode == 2
    assert "unrecognized arguments: echo hi" in done.stderr
    assert "hint: a command goes after --: podium submit shell --wait -- echo hi" in done.stderr


def test_submit_run_at_schedules_the_job(node: str, token_file: Path) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    made = podium("--url", node, "--json", "submit", "noop", "--run-at", later.isoformat())
    assert made.returncode == 0, made.stderr
    job_id = json.loads(made.stdout)["id"]
    job = json.loads(podium("--url", node, "status", job_id, "--json").stdout)
    assert job["status"] == "scheduled" and job["run_at"] == later.timestamp()
    shown = podium("--url", node, "status", job_id).stdout
    assert re.search(r"runs at\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (59m|1h)\)", shown), shown
    both = podium("--url", node, "submit", "noop", "--run-at", "0", "--delay", "3")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    assert podium("--url", node, "cancel", job_id).returncode == 0


def test_a_key_shared_by_count_copies_says_it_made_one_job(node: str, token_file: Path) -> None:
    key = f"k-{time.time_ns()}"
    done = podium("--url", node, "submit", "noop", "--key", key, "--count", "3")
    assert done.returncode == 0
    assert len(UUID.findall(done.stdout)) == 1, done.stdout  # one id, once
    assert f"the 3 submits share --key {key}, so they are 1 job" in done.stderr
    assert "leave --key out for 3 jobs" in done.stderr
    # scripts get the API's answer: one entry per submit, all the same job
    scripted = podium("--url", node, "--json", "submit", "noop", "--key", key, "--count", "3")
    assert len({j["id"] for j in json.loads(scripted.stdout)}) == 1 and not scripted.stderr


# -- item 10: Ctrl-C ----------------------------------------------------------------------------


def test_ctrl_c_while_waiting_prints_the_ids_and_exits_130(node: str, token_file: Path) -> None:
    marker = 30 + time.time_ns() % 1000 / 1000  # seconds: finds these jobs among the others
    waiting = subprocess.Popen(
        [str(PODIUM), "--url", node, "submit", "sleep", "--payload",
         json.dumps({"seconds": marker}), "--count", "2", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=user_env(),
        preexec_fn=ctrl_c_default,
    )  # fmt: skip
    try:
        ids = submitted_sleeps(node, marker)
        # the jobs are in before the CLI has their ids: give the answer time to arrive, so
        # the Ctrl-C lands in the waiting (one before it is "interrupted", no ids to say)
        time.sleep(1.0)
        waiting.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, err = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert sorted(out.split()) == sorted(ids)
    assert "interrupted; stopped waiting, the 2 jobs go on" in err
    with Client(node) as c:
        assert {c.get(i)["status"] for i in ids} <= {"pending", "running"}
        for job_id in ids:
            c.cancel(job_id)


def submitted_sleeps(url: str, seconds: float) -> list[str]:
    with Client(url) as c:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            jobs = c.list(type="sleep", limit=50)["jobs"]
            ids = [j["id"] for j in jobs if j["payload"] == {"seconds": seconds}]
            if len(ids) == 2:
                return ids
            time.sleep(0.05)
    raise AssertionError("the submit never arrived")


def test_a_second_ctrl_c_stops_a_node_at_once(tmp_path: Path) -> None:
    """The first Ctrl-C drains and the log says for what and how long; the second stops the
    running job and hands it back instead of waiting out the drain."""
    http, listen = free_ports(2)
    url = f"http://127.0.0.1:{http}"
    log = tmp_path / "node.log"
    with log.open("w") as sink:
        node = subprocess.Popen(
            [str(PODIUM), "node", "--http", f"127.0.0.1:{http}", "--listen",
             f"127.0.0.1:{listen}", "--data", str(tmp_path / "data")],
            stdout=sink, stderr=sink, env=user_env(), start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(url)
        with Client(url) as c:
            job_id = c.submit("sleep", {"seconds": 120})["id"]
            wait_for(lambda: c.get(job_id)["status"] == "running", 30, "the job running")
        node.send_signal(signal.SIGINT)
        draining = "draining: waiting up to 30 s for 1 running job(s)"
        wait_for(lambda: draining in log.read_text(), 30, "the drain's log line")
        assert "Ctrl-C again stops at once, handing running jobs back" in log.read_text()
        time.sleep(0.5)
        assert node.poll() is None  # still draining: the job has two minutes to go
        started = time.monotonic()
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=15) == 0
        took = time.monotonic() - started
    finally:
        stop(node)
    said = log.read_text()
    assert "stopping now: running jobs are stopped and handed back" in said
    assert "drain: stopping and handing back 1 running job(s)" in said
    assert "Traceback" not in said
    print(f"a second Ctrl-C stopped the node in {took:.2f} s")
    assert took < 10


# -- item 12: smaller ones -----------------------------------------------------------------------


def test_hash_password_prompts_on_a_terminal_without_echo() -> None:
    """On a terminal: a prompt, nothing echoed, asked twice; a typo in the second stops it."""
    for second, code in (("s3cret", 0), ("s3cre7", 2)):
        pid, fd = pty.fork()
        if pid == 0:  # the child, on the pty: what a person at a terminal runs
            os.environ.update(user_env())
            os.execv(str(PODIUM), [str(PODIUM), "hash-password"])
        screen = read_terminal(fd, "Password: ")
        os.write(fd, b"s3cret\n")
        screen += read_terminal(fd, "Again: ")
        os.write(fd, f"{second}\n".encode())
        screen += read_terminal(fd, None)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == code, screen
        assert "s3cret" not in screen and "s3cre7" not in screen  # never echoed
        if code == 0:
            hashed = screen.split("Again: ")[1].strip()
            assert verify_password("s3cret", hashed)
        else:
            assert "the two passwords differ" in screen
    piped = podium("hash-password", stdin="from-a-pipe\n")
    assert piped.returncode == 0 and verify_password("from-a-pipe", piped.stdout.strip())
    assert "Password" not in piped.stdout + piped.stderr


def read_terminal(fd: int, text: str | None, timeout: float = 30.0) -> str:
    """What the terminal shows until ``text`` appears (None: until the program exits)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text is not None and text.encode() in seen:
            return seen.decode()
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the program exited and closed the terminal
                chunk = b""
            if not chunk:
                if text is None:
                    return seen.decode()
                break
            seen += chunk
    raise AssertionError(f"{text!r} never shown; the screen: {seen.decode()!r}")


def test_help_describes_the_operator_commands(token_file: Path) -> None:
    shown = " ".join(podium("--help", env=user_env(COLUMNS="200")).stdout.split())
    assert "runtime.cli" not in shown
    for says in (
        "node run a node: the dev cluster, a master or a worker",
        "hash-password prompt for a password and print its scrypt hash",
        "certs certs init: a cluster CA and a certificate per node",
        "version print the installed version",
    ):
        assert says in shown


def test_login_to_a_node_with_auth_off_says_so(node: str, token_file: Path) -> None:
    done = podium("--url", node, "login", "alice", stdin="pw\n")
    assert done.returncode == 0 and not done.stderr
    assert f"auth is off at {node}: no login needed" in " ".join(done.stdout.split())
    assert not token_file.exists()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("secured-config") / "podium.toml"
    config.write_text(
        '[auth]\nenabled = true\nsecret = "a-test-secret-of-more-than-32-bytes!"\n'
        f'[[auth.users]]\nname = "bob"\nrole = "admin"\npassword_hash = "{hash_password("pw")}"\n'
    )
    yield from dev_node_url(tmp_path_factory, "secured", master_args=["--config", str(config)])


def test_the_stored_token_remembers_its_server(
    secured: str, node: str, token_file: Path, tmp_path: Path
) -> None:
    refused = podium("--url", secured, "stats")
    assert refused.returncode == 3
    logged = podium("--url", secured, "login", "bob", stdin="pw\n")
    assert logged.returncode == 0 and f"logged in as bob at {secured}" in logged.stdout
    assert token_file.stat().st_mode & 0o777 == 0o600
    # no --url, no $PODIUM_URL: the server logged in to, with its token
    assert podium("--json", "stats").returncode == 0
    assert podium("--json", "cluster", "--url", secured.removeprefix("http://")).returncode == 0
    # another server is sent no token of this one's
    assert TokenStore.load().token_for(node) is None
    # a token file from before (one bare token) still works, at whichever server
    stored = json.loads(token_file.read_text())
    assert stored["current"] == secured and list(stored["tokens"]) == [secured]
    token_file.write_text(stored["tokens"][secured] + "\n")
    assert podium("--url", secured, "--json", "workers").returncode == 0


def test_job_body_and_the_async_clients_iter_jobs_and_wait(node: str) -> None:
    """The README's async calls, run as a user's script would run them."""
    script = f"""
import trio
from client import AsyncClient, job_body

async def main():
    async with AsyncClient({node!r}) as podium:
        jobs = await podium.submit_batch([job_body("noop"), job_body("sleep", {{"seconds": 60}})])
        quick, slow = (j["id"] for j in jobs)
        seen = []
        done = await podium.wait([quick], timeout=30, on_progress=lambda d, t: seen.append((d, t)))
        print("waited", done[quick]["status"], seen[-1])
        try:
            await podium.wait([slow], timeout=0.3)
        except TimeoutError as exc:
            print("timeout", exc)
        found = [j["id"] async for j in podium.iter_jobs(type="sleep", status="running")]
        print("found", slow in found)
        await podium.cancel(slow)

trio.run(main)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=user_env()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "waited succeeded (1, 1)",
        "timeout 1 of 1 jobs not final in 0.3 s",
        "found True",
    ]


def test_bench_help_is_plain_text() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, timeout=60,
        env=user_env(),
    )  # fmt: skip
    assert done.returncode == 0
    assert "``" not in done.stdout and ":mod:" not in done.stdout
    assert "python -m bench SUITE --help" in " ".join(done.stdout.split())


def test_a_node_starts_where_the_clients_variables_are_set(tmp_path: Path) -> None:
    """The walkthrough exports PODIUM_URL for the client; a node started from that shell
    must not take it for a misspelled setting."""
    http, listen = free_ports(2)
    node = subprocess.Popen(
        [str(PODIUM), "node", "--http", f"127.0.0.1:{http}", "--listen", f"127.0.0.1:{listen}",
         "--data", str(tmp_path / "data")],
        env=user_env(PODIUM_URL=f"127.0.0.1:{http}", PODIUM_TOKEN_FILE=str(tmp_path / "t")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{http}")
    finally:
        stop(node)


# -- items 4 to 8 and 11, as typed (each also has a closer test in test_first_hour.py) --------


def test_a_failing_job_shows_every_attempt_and_its_output(node: str, token_file: Path) -> None:
    """Items 4 and 6: each attempt's error is kept; a failed shell job shows its output."""
    failing = ["--", "sh", "-c", "echo working; echo 'boom: disk on fire' >&2; exit 2"]
    done = podium("--url", node, "submit", "shell", "--retries", "1", "--wait", "-q", *failing)
    assert done.returncode == 1, done.stderr  # the job did not succeed
    job_id = done.stdout.split()[0]
    shown = podium("--url", node, "status", job_id)
    assert shown.returncode == 0
    assert re.search(r"earlier attempts:\n  #1 on m1, .*: error: exit code 2", shown.stdout)
    assert "error: exit code 2" in shown.stdout and "boom: disk on fire" in shown.stdout
    assert job_id in shown.stdout, "an id is never cut, even at 80 columns"


def test_mistakes_are_refused_at_submit_and_waiting_jobs_say_why(
    node: str, token_file: Path
) -> None:
    """Item 5: a built-in type's bad payload is a 400 naming the field; a type nobody
    handles says what it waits for."""
    bad = podium("--url", node, "submit", "shell", "--payload", '{"argv": "echo hi"}')
    assert bad.returncode == 2
    assert "payload.argv must be a non-empty list of strings" in bad.stderr
    waiting = podium("--url", node, "submit", "resize", "-q")
    assert waiting.returncode == 0
    job_id = waiting.stdout.strip()
    shown = podium("--url", node, "status", job_id)
    assert "a worker that handles type 'resize' (none is connected)" in shown.stdout
    assert podium("--url", node, "cancel", job_id).returncode == 0


def test_list_pages_newest_first_and_waiting_on_many_is_quick(node: str, token_file: Path) -> None:
    """Items 7 and 8: newest first with a printed cursor; 1,000 jobs waited for in one
    request a round."""
    started = time.monotonic()
    many = podium("--url", node, "submit", "noop", "--count", "1000", "--wait")
    took = time.monotonic() - started
    assert many.returncode == 0 and "1000 jobs final" in many.stdout, many.stdout
    assert took < 30, took
    first = podium("--url", node, "--json", "list", "--limit", "2")
    page = json.loads(first.stdout)
    created = [job["created_at"] for job in page["jobs"]]
    assert created == sorted(created, reverse=True) and page["cursor"]
    following = podium("--url", node, "--json", "list", "--limit", "2", "--cursor", page["cursor"])
    later = json.loads(following.stdout)["jobs"]
    assert later and later[0]["created_at"] <= created[-1]


def test_a_reused_key_with_another_body_is_refused(node: str, token_file: Path) -> None:
    """Item 11: the same key for the same job gives that job; for another job, 409."""
    one = podium("--url", node, "submit", "noop", "--key", "order-42", "-q")
    again = podium("--url", node, "submit", "noop", "--key", "order-42", "-q")
    assert one.returncode == again.returncode == 0 and one.stdout == again.stdout
    other = podium(
        "--url", node, "submit", "noop", "--key", "order-42", "--payload", '{"n": 2}', "-q"
    )
    assert other.returncode == 5, other.stderr
    assert one.stdout.strip() in other.stderr and "different body" in other.stderr


def test_certs_init_that_cannot_write_or_name_a_host_says_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for args in (
        ("--http-hosts", "bücher.example", "--out", str(tmp_path / "certs")),
        ("--http-hosts", "a.example", "--out", str(blocker / "certs")),
    ):
        done = podium("certs", "init", *args)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("podium certs init: "), done.stderr
