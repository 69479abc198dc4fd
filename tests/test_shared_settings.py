"""The multi-process tests and benchmarks share one set of fast failure-detection settings
(``bench.loopback.FAST_FAILURE_DETECTION``) instead of each keeping a copy that drifts."""

from __future__ import annotations

from pathlib import Path

from bench.loopback import FAST_FAILURE_DETECTION

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "bench" / "loopback.py"


def test_the_fast_settings_are_written_down_once() -> None:
    copies = [
        path.relative_to(ROOT).as_posix()
        for folder in ("tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path not in (HOME, Path(__file__).resolve())
        and '"PODIUM_SCHEDULER__HEARTBEAT_S": "0.3"' in path.read_text()
    ]
    assert copies == []
    assert dict(FAST_FAILURE_DETECTION) == {
        "PODIUM_SCHEDULER__LEASE_S": "2",
        "PODIUM_SCHEDULER__HEARTBEAT_S": "0.3",
    }
