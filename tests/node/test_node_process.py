"""The node as a user starts it: a real process on loopback."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ports import free_port


def test_bad_config_exits_2_with_a_clear_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.node", "--capacity", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "capacity" in done.stderr and "config error" in done.stderr


def test_node_serves_http_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    http, listen = free_port(), free_port()
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.node",
            "--http",
            f"127.0.0.1:{http}",
            "--listen",
            f"127.0.0.1:{listen}",
            "--data",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{http}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "node did not start serving"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "node": "m1"}
        bad = httpx.post(f"http://127.0.0.1:{http}/api/v1/jobs", content=b"{not json")
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        node.send_signal(signal.SIGTERM)
        _, err = node.communicate(timeout=30)
        assert node.returncode == 0
        assert '"msg": "node stopped"' in err
    finally:
        node.kill()


def run_node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.node", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_data_directory_from_before_the_history_store_is_one_clear_line(
    tmp_path: Path,
) -> None:
    import sqlite3

    data = tmp_path / "old"
    data.mkdir()
    db = sqlite3.connect(data / "raft.db")
    db.executescript(
        "CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER, kind INTEGER, data BLOB);"
        "CREATE TABLE snapshot (id INTEGER PRIMARY KEY, idx INTEGER, term INTEGER,"
        " voters TEXT, data BLOB);"
        "INSERT INTO entries VALUES (1, 1, 1, x'');"
    )
    db.commit()
    db.close()
    done = run_node("--data", str(data), "--http", "", "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "older podium" in lines[0] and str(data) in lines[0]


def test_a_history_behind_the_snapshot_is_refused(tmp_path: Path) -> None:
    import sqlite3

    from runtime.storage.history_sqlite import SqliteHistory

    data = tmp_path / "d"
    data.mkdir()
    history = SqliteHistory(data / "history.db")
    history.open()
    history.write([], 5)
    history.close()
    db = sqlite3.connect(data / "raft.db")
    db.executescript(
        "CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER, kind INTEGER, data BLOB);"
        "CREATE TABLE snapshot (id INTEGER PRIMARY KEY, idx INTEGER, term INTEGER,"
        " voters TEXT, data BLOB);"
        "INSERT INTO snapshot VALUES (0, 9, 1, 'm1', x'');"
    )
    db.commit()
    db.close()
    done = run_node("--data", str(data), "--http", "", "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "behind the snapshot at 9" in done.stderr


def test_an_unreadable_raft_log_is_one_clear_line_and_odd_paths_are_checked(
    tmp_path: Path,
) -> None:
    from runtime.storage.check import check_data_dir

    broken = tmp_path / "broken"
    (broken / "raft.db").mkdir(parents=True)
    done = run_node("--data", str(broken), "--http", "", "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read" in lines[0] and "raft.db" in lines[0]
    # a '#' in the path once cut the file: address short, and the check passed silently
    odd = tmp_path / "f#1"
    odd.mkdir()
    import sqlite3

    db = sqlite3.connect(odd / "raft.db")
    db.executescript(
        "CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER, kind INTEGER, data BLOB);"
        "CREATE TABLE snapshot (id INTEGER PRIMARY KEY, idx INTEGER, term INTEGER,"
        " voters TEXT, data BLOB);"
        "INSERT INTO entries VALUES (1, 1, 1, x'');"
    )
    db.commit()
    db.close()
    problem = check_data_dir(odd)
    assert problem is not None and "older podium" in problem
