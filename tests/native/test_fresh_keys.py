"""A key the client made for a call is not looked up on its first sending, only when sent again.

The Python client gives every job an idempotency key so a submit can be sent
again across a failover; the leader answers a key it already knows with that
job, which costs a history lookup per batch. A key the client has just made
names no job yet, so its first sending says so (``fresh``) and skips the
lookup; any sending after an attempt that may have reached a master does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio

from client import AsyncClient
from client.api import _Calls
from runtime.storage.history import History
from tests.gateway.api import auth_config
from tests.native.helpers import native_node
from transport.client_wire import SubmitOp, resent
from transport.codec import packer
from transport.records import JobRecord


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The keys of every history lookup the master makes."""
    seen: list[tuple[str, ...]] = []
    lookup = History.by_keys

    async def by_keys(self: History, keys: Sequence[str]) -> dict[str, JobRecord]:
        seen.append(tuple(keys))
        return await lookup(self, keys)

    monkeypatch.setattr(History, "by_keys", by_keys)
    return seen


def op(job: dict[str, Any], *, fresh: bool) -> SubmitOp:
    return SubmitOp(packer().pack(job), fresh)


async def finished(client: AsyncClient, job_id: str) -> None:
    with trio.fail_after(10):
        while (await client.get(job_id))["status"] != "succeeded":
            await trio.sleep(0.02)


async def test_a_fresh_key_skips_the_lookup_and_a_resent_one_finds_its_job(
    lookups: list[tuple[str, ...]],
) -> None:
    async with native_node() as node, AsyncClient(node.url) as client:
        made = [await client.submit("noop", {"n": n}) for n in range(20)]
        assert len({job["id"] for job in made}) == 20
        assert lookups == [], "the client's own keys, sent once, were looked up"
        # the first job ran and left memory for the history; its key sent again (as after
        # a lost connection) is looked up there and answers with that job
        await finished(client, made[0]["id"])
        key = (await client.get(made[0]["id"]))["idempotency_key"]
        assert key.startswith("auto-")
        body = {"type": "noop", "payload": {"n": 0}, "idempotency_key": key}
        assert client.native is not None
        again = await client.native.call(op(body, fresh=False), repeatable=True)
        assert again == {"id": made[0]["id"], "status": "succeeded"}
        assert lookups == [(key,)]


async def test_fresh_is_only_believed_of_the_clients_own_keys(
    lookups: list[tuple[str, ...]],
) -> None:
    async with native_node() as node, AsyncClient(node.url) as client:
        first = await client.submit("noop", idempotency_key="order-42")
        await finished(client, first["id"])
        assert client.native is not None
        # a user's key marked fresh (a client that got it wrong) is looked up all the same
        body = {"type": "noop", "idempotency_key": "order-42"}
        again = await client.native.call(op(body, fresh=True), repeatable=True)
        assert again["id"] == first["id"]
        assert ("order-42",) in lookups


async def test_a_fresh_key_sent_twice_still_makes_one_job(
    lookups: list[tuple[str, ...]],
) -> None:
    """Two sendings both marked fresh (a copy of the first): the state machine answers the
    second with the first job, as it does for any key twice in the log."""
    async with native_node() as node, AsyncClient(node.url) as client:
        assert client.native is not None
        body = {"type": "noop", "delay_s": 600, "idempotency_key": "auto-twice"}
        answers = [
            await client.native.call(op(body, fresh=True), repeatable=True) for _ in range(2)
        ]
        assert answers[0]["id"] == answers[1]["id"] and lookups == []


def test_only_the_first_sending_of_a_key_the_client_made_is_fresh() -> None:
    made = _Calls.submit({"type": "noop"})
    given = _Calls.submit({"type": "noop", "idempotency_key": "order-42"})
    assert isinstance(made.op, SubmitOp) and made.op.fresh
    assert isinstance(given.op, SubmitOp) and not given.op.fresh
    again = resent(made.op)
    assert isinstance(again, SubmitOp) and not again.fresh and again.job == made.op.job
    assert resent(given.op) is given.op


async def test_an_attempt_after_a_failure_sends_the_key_as_seen() -> None:
    async with AsyncClient("podium://127.0.0.1:1") as client:
        call = _Calls.submit({"type": "noop"})
        attempts = client._attempts()
        first = client._op(call, attempts)
        attempts.failures += 1
        later = client._op(call, attempts)
        assert isinstance(first, SubmitOp) and first.fresh
        assert isinstance(later, SubmitOp) and not later.fresh and later.job == first.job


async def test_with_auth_on_the_clients_own_keys_still_skip_the_lookup(
    lookups: list[tuple[str, ...]],
) -> None:
    """The owner prefix auth puts on every key (``bob/auto-...``) does not hide that the
    client made the key."""
    async with native_node(auth_config()) as node:
        token = await node.token("bob")
        async with AsyncClient(node.url, token=token) as client:
            made = [await client.submit("noop", {"n": n}) for n in range(5)]
            assert len({job["id"] for job in made}) == 5
            key = (await client.get(made[0]["id"]))["idempotency_key"]
    assert key.startswith("bob/auto-")
    assert lookups == [], "with auth on, the client's own keys were looked up"
