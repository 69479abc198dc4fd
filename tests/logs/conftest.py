"""The output actors' tests run on two nodes of the runtime's own SimNetwork harness (on
the real clock: a test that does not ask for ``autojump_clock`` keeps it)."""

from tests.sim.test_runtime_on_sim import cluster  # noqa: F401  (a fixture)
