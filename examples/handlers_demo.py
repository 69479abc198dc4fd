"""Two user handlers, loaded by a worker with ``--handlers examples.handlers_demo``.

python -m runtime.node --handlers examples.handlers_demo
curl -XPOST localhost:8080/api/v1/jobs -d '{"type": "count_primes", "payload": {"below": 100000}}'
"""

from __future__ import annotations

import trio

from actors.worker.handlers import JobContext, handler


@handler("greet")
async def greet(payload: dict[str, str], context: JobContext) -> str:
    await trio.sleep(0)
    return f"hello {payload.get('name', 'world')} (attempt {context.attempt})"


@handler("count_primes")
def count_primes(payload: dict[str, int]) -> int:
    """CPU-bound and sync: it runs in one of the worker's child processes, on its own core."""
    below = int(payload.get("below", 10_000))
    sieve = bytearray([1]) * max(below, 2)
    sieve[0:2] = b"\x00\x00"
    for n in range(2, int(below**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, below, n)))
    return sum(sieve)
