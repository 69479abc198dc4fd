"""Over the native protocol too, a ``user`` sees and changes only their own schedules, and
the schedule and job-type writes are audited with who made them."""

from __future__ import annotations

import logging

import pytest

from client import AsyncClient, PodiumError
from tests.gateway.api import auth_config
from tests.native.helpers import native_node


async def test_schedules_follow_ownership_and_writes_are_audited_over_native(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with native_node(auth_config()) as node:
        async with (
            AsyncClient(node.url, token=await node.token("ada"), timeout=5) as ada,
            AsyncClient(node.url, token=await node.token("bob"), timeout=5) as bob,
        ):
            with caplog.at_level(logging.INFO, logger="podium.audit"):
                await ada.add_schedule("nightly", {"type": "noop"}, every_s=3600, paused=True)
                assert await bob.list_schedules() == []
                for refused in (bob.get_schedule, bob.resume_schedule, bob.delete_schedule):
                    with pytest.raises(PodiumError) as missing:
                        await refused("nightly")
                    assert (missing.value.status, missing.value.message) == (
                        404,
                        "schedule 'nightly' not found",
                    )
                await ada.pause_type("mail")
            assert [s["name"] for s in await ada.list_schedules()] == ["nightly"]
    lines = [
        (r.getMessage(), r.__dict__["user"], r.__dict__.get("status"))
        for r in caplog.records
        if r.name == "podium.audit" and r.__dict__.get("event") != "login"
    ]
    assert lines == [
        ("schedule_add ok", "ada", None),
        ("schedule_resume refused", "bob", 404),
        ("schedule_delete refused", "bob", 404),
        ("type_pause ok", "ada", None),
    ]
