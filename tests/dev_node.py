"""One development node (``--role dev``: a master and its worker) as a real process, for the
tests that drive it through its HTTP API, the clients and the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.loopback import LoopbackCluster


def dev_node(factory: pytest.TempPathFactory, name: str) -> Iterator[LoopbackCluster]:
    """Start one under a fresh folder ``name``; its log tail is printed when it stops."""
    with LoopbackCluster(factory.mktemp(name), single=True) as cluster:
        cluster.start(timeout=60)
        yield cluster
        print(cluster.describe())


def dev_node_url(factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """:func:`dev_node`, giving its HTTP address ("http://127.0.0.1:PORT")."""
    for cluster in dev_node(factory, name):
        url = cluster.masters["m1"].http
        assert url is not None
        yield url
