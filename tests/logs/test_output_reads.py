"""A finished attempt's output, kept by the masters, reads at the offsets the worker's reads
used: a follower crossing the attempt's end (worker answers, then a master's store, or a
peer's) gets every byte of the tail once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.master.output_actor import OutputActor
from actors.master.output_store import OutputStore
from actors.worker.output import HeadTail, RecentOutputs
from actors.worker.output_shipping import read_held, ship_output
from runtime.actor import Actor, ActorRef
from tests.logs.captures import rendered
from tests.sim.runtime_cluster import Cluster, cluster_fixture  # noqa: F401  (a fixture)
from transport.cluster import GetJob, JsonView, RunningJob
from transport.codec import Message, decode, encode
from transport.output_messages import (
    OUTPUT_ACTOR,
    Capture,
    OutputChunk,
    ReadOutput,
    StoreOutput,
    cut_marker,
    read_capture,
)

LIMIT = 64
# numbered lines, far over the limit: each byte of the tail is known by its place
STREAM = b"".join(b"line %03d\n" % n for n in range(60))


def written(parts: list[bytes]) -> HeadTail:
    buffer = HeadTail(LIMIT)
    for part in parts:
        buffer.write(part)
    return buffer


def test_a_shipped_capture_reads_as_the_workers_did_at_every_offset() -> None:
    buffer = written([STREAM])
    shipped = decode(encode(StoreOutput("j", 1, b"", *buffer.capture())))
    assert isinstance(shipped, StoreOutput)
    capture = shipped.capture()
    assert capture == Capture(STREAM[:32], STREAM[-32:], len(STREAM))
    for limit in (1, 7, 32, 1000):
        for offset in range(len(STREAM) + 3):
            assert read_capture(*capture, offset, limit) == buffer.read(offset, limit)


def test_an_older_workers_rendered_capture_reads_as_a_stream_of_its_own_bytes() -> None:
    whole = rendered(written([STREAM]))
    capture = StoreOutput("j", 1, whole).capture()
    assert capture == Capture(whole, b"", len(whole))
    assert read_capture(*capture, 0, 10_000) == (whole, len(whole))


def history_file(path: Path) -> Path:
    """A history's file as the store finds it: the ``jobs`` table its trigger hangs on."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY)")
        db.executemany("INSERT INTO jobs VALUES (?)", [("j",), ("old",)])
    return path


def test_the_store_keeps_head_tail_and_total_and_drops_them_with_the_record(
    tmp_path: Path,
) -> None:
    store = OutputStore(history_file(tmp_path / "history.db"))
    capture = written([STREAM]).capture()
    store.put([("j", 1, *capture)])
    assert store.get("j", 1) == capture and store.get("j", 2) is None
    with sqlite3.connect(store.path) as db:
        db.execute("DELETE FROM jobs WHERE id = 'j'")
    assert store.get("j", 1) is None
    store.close()


def test_a_store_of_rendered_captures_is_split_when_opened(tmp_path: Path) -> None:
    path = history_file(tmp_path / "history.db")
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE job_output (
                job_id TEXT NOT NULL, attempt INTEGER NOT NULL, data BLOB NOT NULL,
                PRIMARY KEY (job_id, attempt)
            ) WITHOUT ROWID;
            CREATE TRIGGER job_output_follows_record AFTER DELETE ON jobs
            BEGIN DELETE FROM job_output WHERE job_id = OLD.id; END;
            """
        )
        db.execute("INSERT INTO job_output VALUES ('old', 1, x'6869')")
    store = OutputStore(path)
    assert store.get("old", 1) == Capture(b"hi", b"", 2)
    capture = written([STREAM]).capture()
    store.put([("j", 1, *capture)])
    assert store.get("j", 1) == capture
    store.close()
    again = OutputStore(path)
    assert again.get("old", 1) == Capture(b"hi", b"", 2)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM jobs WHERE id = 'old'")
    assert again.get("old", 1) is None  # the trigger still takes it with its record
    again.close()


# -- a follower across the attempt's end, through the real actors ----------------------


@attrs.define
class FakeMaster(Actor):
    """The master actor as the output actor sees it: it answers GetJob with one job."""

    job: dict[str, Any]

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, GetJob)
        return JsonView(json.dumps(self.job).encode())


@attrs.define
class FakeWorker(Actor):
    """A worker's output side: it answers reads of what it holds."""

    outputs: RecentOutputs

    async def handle(self, msg: Message, sender: ActorRef | None) -> Message | None:
        assert isinstance(msg, ReadOutput)
        return read_held(self.outputs, msg)


async def test_a_follower_gets_every_byte_of_the_tail_once_across_the_end(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Masters on n1 and n2, the worker beside n2's; the follower reads through n1."""
    job: dict[str, Any] = {"attempts": 1, "status": "running", "worker": "n2"}
    stores: dict[str, OutputStore] = {}
    for master in ("n1", "n2"):
        await cluster.run(master, "master", FakeMaster(job))
        stores[master] = OutputStore(history_file(tmp_path / f"{master}.db"))
        await cluster.run(master, OUTPUT_ACTOR, OutputActor(master, ["n1", "n2"], stores[master]))
    # keep=0: the worker forgets a finished capture, so only the masters can answer
    outputs = RecentOutputs(LIMIT, keep=0)
    worker = FakeWorker(outputs)
    await cluster.run("n2", "worker", worker)
    buffer = outputs.start("j", 1)

    async def read(master: str, offset: int) -> OutputChunk:
        answer = await cluster.ref("n1", master, OUTPUT_ACTOR).ask(ReadOutput("j", 1, offset, 1000))
        assert isinstance(answer, OutputChunk) and answer.found
        return answer

    buffer.write(STREAM[:400])
    running = await read("n1", 0)
    assert running.running and running.next_offset == 400
    buffer.write(STREAM[400:420])  # less than the tail keeps: nothing more is cut
    outputs.finish("j", 1)
    # the capture reaches n2 only: n1 fetches it from its peer
    ship_output(worker.ctx, ["n2"], RunningJob("j", 1), buffer)
    job["status"] = "succeeded"
    with trio.fail_after(5):
        while not (await read("n2", 400)).data:  # written after a moment's gathering
            await trio.sleep(0.01)
    for master in ("n2", "n1"):
        end = await read(master, running.next_offset)
        assert not end.running and end.next_offset == 420
        # the head, what was cut, then the stream from the tail's start: every byte once
        assert running.data + end.data == STREAM[:32] + cut_marker(336) + STREAM[368:420]
    assert stores["n1"].get("j", 1) == buffer.capture()  # kept from the peer's


async def test_a_running_attempt_whose_worker_does_not_answer_keeps_the_followers_place(
    cluster: Cluster, tmp_path: Path
) -> None:
    """No worker actor on n2: the read is tried again later, from where it was."""
    job: dict[str, Any] = {"attempts": 1, "status": "running", "worker": "n2"}
    await cluster.run("n1", "master", FakeMaster(job))
    store = OutputStore(history_file(tmp_path / "n1.db"))
    await cluster.run("n1", OUTPUT_ACTOR, OutputActor("n1", ["n1"], store))
    with trio.fail_after(5):
        answer = await cluster.ref("n1", "n1", OUTPUT_ACTOR).ask(ReadOutput("j", 1, 400, 10))
    assert answer == OutputChunk(1, b"", 400, True)
