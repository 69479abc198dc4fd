"""The command line of ``python -m runtime.node``, as a layer of settings."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from runtime.config.layers import Layers
from runtime.config.model import (
    LOG_LEVELS,
    POLICIES,
    POOL_KINDS,
    PROFILES,
    ROLES,
    setting_type,
)
from runtime.config.problems import ConfigError, Finding
from runtime.config.text import TextError, parse_text

# flag -> (key path, help); every flag takes one text value, read like a variable's
FLAGS: dict[str, tuple[tuple[str, ...], str]] = {
    "--role": (("role",), f"{' | '.join(ROLES)}; dev runs a master and a worker (default dev)"),
    "--id": (("id",), "node id (default m1, or w1 for a worker)"),
    "--listen": (("listen",), "host:port for other nodes (default 127.0.0.1:7001)"),
    "--http": (("http", "listen"), "host:port of the HTTP API, '' for none"),
    "--peers": (("peers",), "masters of the cluster, this one included: m1=host:port,m2=..."),
    "--data": (("data",), "data directory (default ./podium-data[/<id>])"),
    "--masters": (("masters",), "a worker's masters: host:port,host:port"),
    "--capacity": (("capacity",), "jobs a worker runs at once (default 4)"),
    "--prefetch": (
        ("prefetch",),
        "jobs a worker holds queued beyond capacity (default 4; 0 for long jobs)",
    ),
    "--pool": (
        ("pool",),
        f"where sync handlers run: {' | '.join(POOL_KINDS)} (default process)",
    ),
    "--max-jobs-per-child": (
        ("max_jobs_per_child",),
        "replace a pool process after this many jobs (default 0: never)",
    ),
    "--log-max-bytes": (
        ("log_max_bytes",),
        "output kept per job attempt, head and tail (default 1048576)",
    ),
    "--handlers": (("handlers",), "modules registering job handlers: pkg.mod[,pkg.mod]"),
    "--types": (("types",), "job types this worker accepts: a,b (default all)"),
    "--shell-allow": (
        ("shell_allow",),
        "commands a worker's shell jobs may run: a,b (default any)",
    ),
    "--policy": (("policy",), f"worker selection: {' | '.join(POLICIES)}"),
    "--profile": (("profile",), f"{' | '.join(PROFILES)} (production requires auth and TLS)"),
    "--log-level": (("log_level",), " | ".join(LOG_LEVELS)),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError([f"command line: {message} (see --help)"])


def arg_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m runtime.node",
        description="Run a podium node. Settings come from defaults, then --config FILE "
        "(or PODIUM_CONFIG), then PODIUM_* variables (PODIUM_RAFT__TICK_S for [raft] "
        "tick_s), then these flags.",
        allow_abbrev=False,
    )
    parser.add_argument("--config", metavar="FILE", help="TOML config file")
    for flag, (_, help_text) in FLAGS.items():
        parser.add_argument(flag, metavar="VALUE", help=help_text)
    return parser


def parse_flags(argv: Sequence[str]) -> tuple[str | None, Layers]:
    """The ``--config`` file named on the command line, and the flags' settings."""
    args = vars(arg_parser().parse_args(list(argv)))
    layers = Layers()
    for flag, (path, _) in FLAGS.items():
        text = args[flag[2:].replace("-", "_")]
        if text is None:
            continue
        try:
            value = parse_text(text, setting_type(path))
        except TextError as e:
            layers.findings.append(Finding(path, str(e), text, source=flag))
            continue
        layers.put_at(path, value, flag)
    config: str | None = args["config"]
    return config, layers
