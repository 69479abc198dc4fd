"""Codec cost for the message the cluster sends most: a job assignment in an envelope."""

from __future__ import annotations

import msgpack

from bench.harness import BenchCase
from transport.cluster import AssignJobs, Assignment
from transport.codec import decode, encode
from transport.envelope import Envelope

_BATCH = 100


def typical_message() -> Envelope:
    payload = msgpack.packb(
        {"argv": ["python", "-m", "reports.build", "--day", "2026-11-22"], "env": {"TZ": "UTC"}},
        use_bin_type=True,
    )
    assignment = Assignment("01JD8Z3Q5V0000000000000042", 1, "shell", payload, 30.0)
    return Envelope("m1", "master", "worker", 0, False, AssignJobs((assignment,)))


def cases() -> list[BenchCase]:
    msg = typical_message()
    data = encode(msg)

    def encode_many() -> int:
        for _ in range(_BATCH):
            encode(msg)
        return _BATCH

    def decode_many() -> int:
        for _ in range(_BATCH):
            decode(data)
        return _BATCH

    return [BenchCase("codec.encode", encode_many), BenchCase("codec.decode", decode_many)]
