"""The multi-process tests and benchmarks share one set of fast failure-detection settings
(``bench.loopback.FAST_FAILURE_DETECTION``) instead of each keeping a copy that drifts.

A copy is a dict literal (``{...}``) in ``tests/`` or ``bench/`` that sets both of its keys
as written constants, whatever the values (a copy that has drifted is the one that matters);
a ``dict(...)`` call or keys merged in with ``**`` are not seen. A test that needs one
setting of its own (a quicker heartbeat) names only that one."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "bench" / "loopback.py"


def settings_dicts(path: Path) -> list[int]:
    """The lines of the dict literals in ``path`` that set every fast-detection key."""
    keys = set(FAST_FAILURE_DETECTION)
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Dict)
        and keys <= {k.value for k in node.keys if isinstance(k, ast.Constant)}
    ]


def test_the_check_finds_the_one_definition() -> None:
    assert len(settings_dicts(HOME)) == 1, "the check no longer recognises the settings"


def test_the_fast_settings_are_written_down_once() -> None:
    copies = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for folder in ("tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != HOME
        for line in settings_dicts(path)
    ]
    assert copies == []
