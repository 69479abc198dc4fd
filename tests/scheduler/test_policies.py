"""Every policy keeps credits exactly and offers only eligible workers; then each one's order."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.scheduler.policies import POLICIES, make_pool

steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "set_free", "choose", "release"]),
        st.integers(0, 5),
        st.integers(0, 4),
        st.sampled_from("ab"),
    ),
    max_size=80,
)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=80, deadline=None)
@given(ops=steps)
def test_never_over_commits(policy: str, ops: list[tuple[str, int, int, str]]) -> None:
    pool = make_pool(policy, Random(1))
    capacity: dict[str, int] = {}
    free: dict[str, int] = {}
    types: dict[str, set[str]] = {}
    for op, n, k, job_type in ops:
        w = f"w{n}"
        if op == "add":
            kinds = {"a", "b"} if k % 2 else {job_type}
            pool.add(w, k + 1, kinds)
            capacity[w], free[w], types[w] = k + 1, k + 1, kinds
        elif op == "remove":
            pool.remove(w)
            for table in (capacity, free, types):
                table.pop(w, None)  # type: ignore[attr-defined]
        elif op == "set_free" and w in capacity:
            pool.set_free(w, min(k, capacity[w]))
            free[w] = min(k, capacity[w])
        elif op == "release" and w in capacity:
            pool.release(w)
            free[w] = min(free[w] + 1, capacity[w])
        elif op == "choose":
            chosen = pool.choose(job_type)
            eligible = {x for x in free if free[x] > 0 and job_type in types[x]}
            if chosen is None:
                assert not eligible
            else:
                assert chosen in eligible
                free[chosen] -= 1
        assert pool.free_slots() == sum(free.values())
        assert pool.free_slots(job_type) == sum(f for x, f in free.items() if job_type in types[x])


def drain(policy: str, picks: int) -> list[str]:
    pool = make_pool(policy, Random(7))
    pool.add("w1", 4, {"t"})
    pool.add("w2", 4, {"t"})
    pool.add("w3", 8, {"t"}, free=8)
    return [pool.choose("t") or "-" for _ in range(picks)]


def test_round_robin_takes_turns() -> None:
    assert drain("round_robin", 6) == ["w1", "w2", "w3", "w1", "w2", "w3"]


def test_least_loaded_prefers_the_idle() -> None:
    pool = make_pool("least_loaded", Random(0))
    pool.add("busy", 4, {"t"}, free=1)
    pool.add("idle", 4, {"t"})
    assert pool.choose("t") == "idle"


def test_capacity_aware_follows_free_share() -> None:
    picks = drain("capacity_aware", 16)
    assert picks.count("w3") == 8 and picks.count("w1") == 4


def test_lru_picks_the_longest_unused() -> None:
    pool = make_pool("lru", Random(0))
    for w in ("w1", "w2", "w3"):
        pool.add(w, 4, {"t"})
    assert [pool.choose("t") for _ in range(3)] == ["w1", "w2", "w3"]
    pool.set_free("w1", 0)
    assert pool.choose("t") == "w2"


def test_random_is_seeded_and_covers_everyone() -> None:
    assert drain("random", 12) == drain("random", 12)
    assert set(drain("random", 16)) == {"w1", "w2", "w3"}


def test_types_are_respected() -> None:
    pool = make_pool("round_robin", Random(0))
    pool.add("gpu", 2, {"train"})
    assert pool.choose("noop") is None and pool.choose("train") == "gpu"


def test_unknown_policy_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="round_robin"):
        make_pool("fastest", Random(0))
