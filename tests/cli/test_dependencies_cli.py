"""Dependencies from the Python client (HTTP and native) and the ``podium`` CLI, on a real
dev node whose sync handlers run in child processes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from bench.loopback import LoopbackCluster
from client import AsyncClient, Client, PodiumError
from client.api import job_body
from client.cli import main
from tests.dev_node import dev_node, http_url, native_url

HANDLERS = ("--handlers", "tests.cli.deps_handlers")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    yield from dev_node(tmp_path_factory, "deps", master_args=HANDLERS)


@pytest.mark.parametrize("url", [http_url, native_url], ids=["http", "native"])
def test_a_fan_in_batch_adds_up_its_parents_results(dev: LoopbackCluster, url: object) -> None:
    assert callable(url)
    with Client(url(dev)) as c:
        parts = [job_body("deps.number", {"n": n}, ref=f"n{n}") for n in (1, 2, 3)]
        join = job_body("deps.sum", depends_on=["ref:n1", "ref:n2", "ref:n3"])
        ids = [j["id"] for j in c.submit_batch([*parts, join])]
        final = c.wait(ids, timeout=30)
        result = final[ids[-1]]["result"]
        assert result == {"sum": 6, "from": sorted(ids[:3])}
        assert final[ids[-1]]["depends_on"] == ids[:3]
        assert c.get(ids[0])["children"] == [ids[-1]]
        # a single submit naming a final parent, and one naming nothing that exists
        again = c.submit("deps.sum", depends_on=[ids[0]], on_parent_failure="skip")
        assert c.wait([again["id"]], timeout=30)[again["id"]]["result"]["sum"] == 1
        with pytest.raises(PodiumError) as refused:
            c.submit("noop", depends_on=["no-such-job"])
        assert refused.value.status == 400 and "unknown job ids" in refused.value.message


async def test_the_async_client_submits_children(dev: LoopbackCluster) -> None:
    async with AsyncClient(http_url(dev)) as c:
        parent = await c.submit("sleep", {"seconds": 0.3})
        child = await c.submit("noop", depends_on=[parent["id"]])
        assert child["status"] == "blocked"
        final = await c.wait([child["id"]], timeout=30, poll_s=0.05)
        assert final[child["id"]]["status"] == "succeeded"


def test_cli_depends_on_and_the_status_graph(
    dev: LoopbackCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    url = http_url(dev)
    ids = []
    for n in (4, 5):
        payload = json.dumps({"n": n})
        assert main(["--url", url, "submit", "deps.number", "-q", "--payload", payload]) == 0
        ids.append(capsys.readouterr().out.strip())
    argv = ["--url", url, "--json", "submit", "deps.sum", "--wait"]
    assert main([*argv, "--depends-on", ids[0], "--depends-on", ids[1]]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["sum"] == 9
    assert main([*argv, "--depends-on", ",".join(ids), "--on-parent-failure", "run"]) == 0
    child = json.loads(capsys.readouterr().out)
    assert child["on_parent_failure"] == "run" and child["depends_on"] == ids
    assert main(["--url", url, "status", child["id"]]) == 0
    shown = capsys.readouterr().out
    assert "dependencies (if a parent does not succeed: run)" in shown
    for parent in ids:
        assert re.search(rf"parent +{parent} +succeeded", shown), parent
    assert re.search(rf"this job +{child['id']} +succeeded", shown)
    assert main(["--url", url, "status", ids[0]]) == 0
    shown = capsys.readouterr().out
    assert len(re.findall(r"child +\S+ +succeeded", shown)) == 2 and "parent " not in shown
