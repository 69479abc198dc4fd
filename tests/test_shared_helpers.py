"""The test helpers that many modules need are written once, in the helper modules below,
instead of copied into each test module where the copies drift apart (a wait with another
deadline, a status read that no longer sees finished jobs); and a wait or read a test
module needs from elsewhere comes from a helper module, not from another test module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# each one, and the folder whose test modules may not define its functions again (the
# scheduler's table helpers have names as plain as ``run``, which mean other things elsewhere)
HELPER_MODULES = {
    TESTS / "dev_node.py": TESTS,
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


def test_waits_and_reads_come_from_helper_modules_not_test_modules() -> None:
    borrowed = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.ImportFrom) and node.module):
                continue
            if not node.module.split(".")[-1].startswith("test_"):
                continue
            borrowed += [
                f"{path.relative_to(TESTS)}:{node.lineno} {alias.name} from {node.module}"
                for alias in node.names
                if alias.name.startswith(("wait", "read", "walk"))
            ]
    assert borrowed == []
