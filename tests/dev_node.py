"""One development node (``--role dev``: a master and its worker) as a real process, for the
tests that drive it through its HTTP API, the clients and the CLI, and the two addresses a
client reaches it by."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypedDict, Unpack

import pytest

from bench.loopback import LoopbackCluster


class NodeOptions(TypedDict, total=False):
    """What a test may add to the node: arguments on its command line (``--handlers``,
    ``--config``) and variables in its environment (``PODIUM_*`` settings)."""

    master_args: Sequence[str]
    env: Mapping[str, str]


def dev_node(
    factory: pytest.TempPathFactory, name: str, **options: Unpack[NodeOptions]
) -> Iterator[LoopbackCluster]:
    """Start one under a fresh folder ``name`` with ``options``; its log tail is printed
    when it stops."""
    with LoopbackCluster(factory.mktemp(name), single=True, **options) as cluster:
        cluster.start(timeout=60)
        yield cluster
        print(cluster.describe())


def dev_node_url(
    factory: pytest.TempPathFactory, name: str, **options: Unpack[NodeOptions]
) -> Iterator[str]:
    """:func:`dev_node`, giving its HTTP address (:func:`http_url`)."""
    for cluster in dev_node(factory, name, **options):
        yield http_url(cluster)


def http_url(cluster: LoopbackCluster) -> str:
    """The HTTP address of the cluster's first master ("http://127.0.0.1:PORT")."""
    url = cluster.masters["m1"].http
    assert url is not None
    return url


def native_url(cluster: LoopbackCluster) -> str:
    """The native protocol's address naming every master ("podium://127.0.0.1:PORT,...")."""
    return "podium://" + ",".join(f"127.0.0.1:{port}" for port in cluster.raft_ports)
