"""The test helpers that many modules need are written once, in the helper modules below,
instead of copied into each test module where the copies drift apart (a wait with another
deadline, a status read that no longer sees finished jobs); and whatever a test module needs
from elsewhere (a wait, a fixture, a record builder) comes from a helper module, never from
another test module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# each one, and the folder whose test modules may not define its functions again (the
# scheduler's table helpers have names as plain as ``run``, which mean other things elsewhere)
HELPER_MODULES = {
    TESTS / "dev_node.py": TESTS,
    TESTS / "ports.py": TESTS,
    TESTS / "waits.py": TESTS,
    TESTS / "gateway" / "api.py": TESTS,
    TESTS / "scheduler" / "tables.py": TESTS / "scheduler",
}


def functions(path: Path) -> dict[str, int]:
    """The module-level functions ``path`` defines, with their lines."""
    tree = ast.parse(path.read_text(), str(path))
    return {
        node.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize("home", HELPER_MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_a_shared_helper_is_not_written_again_beside_it(home: Path) -> None:
    shared = set(functions(home))
    assert shared, f"{home.name} defines no helpers: the check would be vacuous"
    copies = [
        f"{path.relative_to(TESTS)}:{line} {name}"
        for path in sorted(HELPER_MODULES[home].rglob("test_*.py"))
        for name, line in functions(path).items()
        if name in shared
    ]
    assert copies == [], f"use the ones in {home.relative_to(TESTS)}"


def is_test_module(dotted: str) -> bool:
    return dotted.split(".")[-1].startswith("test_")


def test_nothing_is_imported_from_a_test_module() -> None:
    """Every name ``from tests.x.test_y import ...`` brings, and a test module imported
    whole (``import tests.x.test_y``, ``from tests.x import test_y``)."""
    borrowed = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [
                    alias.name
                    for alias in node.names
                    if is_test_module(node.module) or is_test_module(alias.name)
                ]
                where = f" from {node.module}"
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if is_test_module(alias.name)]
                where = ""
            else:
                continue
            borrowed += [f"{path.relative_to(TESTS)}:{node.lineno} {name}{where}" for name in names]
    assert borrowed == [], "move what they share into a helper module (not named test_*)"
