"""The architecture's two rules, checked on the source: layers, and pure cores.

Layers import one way (transport <- runtime <- actors <- sim/bench/tests; the
client beside actors, on runtime only). A
pure core (Raft, the job state machine, the scheduling policies) imports no
clock, no network, no event loop, and touches ``random`` only to name the
``random.Random`` it is handed, never to draw from the global generator.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "transport": {"transport"},
    "runtime": {"transport", "runtime"},
    "actors": {"transport", "runtime", "actors"},
    # the client speaks the native protocol through transport's codec and messages, and
    # reaches into runtime for the operator commands
    "client": {"transport", "runtime", "client"},
    # the handler API under its public name, re-exported from the worker
    "podium": {"transport", "runtime", "actors", "podium"},
}
OURS = {"transport", "runtime", "actors", "sim", "bench", "client", "tests", "examples", "podium"}
CORE_GLOBS = ["actors/raft/*.py", "actors/scheduler/*.py"]
# the shells that host the cores on the runtime (and the test harness)
NOT_CORE = {"actor.py", "replica.py", "harness.py", "__init__.py"}
BANNED_IN_CORE = {"trio", "anyio", "socket", "time", "asyncio", "os", "threading", "sqlite3"}


def imported_modules(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def layer_files() -> list[Path]:
    return [p for layer in ALLOWED for p in sorted((ROOT / layer).rglob("*.py"))]


@pytest.mark.parametrize("path", layer_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers_import_one_way(path: Path) -> None:
    layer = path.relative_to(ROOT).parts[0]
    for module, line in imported_modules(path):
        top = module.split(".")[0]
        if top in OURS:
            assert top in ALLOWED[layer], f"{path.name}:{line} ({layer}) imports {module}"


def core_files() -> list[Path]:
    files = {p for pattern in CORE_GLOBS for p in ROOT.glob(pattern)}
    return sorted(p for p in files if p.name not in NOT_CORE)


def test_core_check_sees_the_cores() -> None:
    names = {p.name for p in core_files()}
    assert names, "no core modules found: the purity check would be vacuous"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_cores_are_pure(path: Path) -> None:
    for module, line in imported_modules(path):
        assert module.split(".")[0] not in BANNED_IN_CORE, f"{path.name}:{line} imports {module}"
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
        ):
            assert node.attr == "Random", (
                f"{path.name}:{node.lineno} uses random.{node.attr}; draw from the injected rng"
            )
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            names = {alias.name for alias in node.names}
            assert names <= {"Random"}, f"{path.name}:{node.lineno} imports {names} from random"
