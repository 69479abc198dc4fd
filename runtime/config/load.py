"""Loading a node's config: defaults < TOML file < ``PODIUM_*`` variables < flags."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from cattrs.errors import CattrsError

from runtime.config.checks import field_findings
from runtime.config.convert import InvalidValue, findings, structure
from runtime.config.flags import parse_flags
from runtime.config.layers import DEFAULTS, Layers
from runtime.config.model import SECRETS, NodeConfig, default_http_listen
from runtime.config.problems import ConfigError, Finding, render
from runtime.config.rules import rule_findings
from runtime.config.sources import CONFIG_VARIABLE, env_layer, file_layer


def load_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> NodeConfig:
    """The config of the node started with ``argv`` (default: ``sys.argv[1:]``).

    Raises :class:`ConfigError` with one line per problem, each naming the key
    and where its value came from. ``--help`` prints usage and exits.
    """
    environ = os.environ if env is None else env
    config_file, flags = parse_flags(sys.argv[1:] if argv is None else argv)
    layers = Layers()
    config_file = config_file or environ.get(CONFIG_VARIABLE) or None
    if config_file is not None:
        layers.update(file_layer(Path(config_file)))
    layers.update(env_layer(environ))
    layers.update(flags)
    return build(layers)


def config_from_dict(table: Mapping[str, Any], source: str = "the given settings") -> NodeConfig:
    """A config from a table shaped like the TOML file, checked as :func:`load_config` does."""
    layers = Layers()
    layers.put_all(table, source)
    return build(layers)


def build(layers: Layers) -> NodeConfig:
    """Defaults fill what the layers leave out; every problem found is reported at once."""
    _fill_http_listen(layers)
    problems = list(layers.findings)
    if not problems:
        # attrs validators would stop at a class's first bad field; the
        # checks run below visit every field instead
        with attrs.validators.disabled():
            try:
                config = structure(layers.as_dict(), NodeConfig)
            except (CattrsError, InvalidValue) as e:
                problems.extend(findings(e))
            else:
                # a default built from a bad setting (peers from a bad listen)
                # repeats a problem already reported where the user made it
                problems.extend(
                    f for f in field_findings(config) if layers.source_of(f.path) != DEFAULTS
                )
                problems.extend(rule_findings(config))
    if problems:
        raise ConfigError(_render_all(problems, layers))
    return config


def _fill_http_listen(layers: Layers) -> None:
    # an [http] table without `listen` still gets the role's address, which
    # the class default (one address for every role) cannot know
    if any(path[0] == "http" for path in layers.entries) and ("http", "listen") not in (
        layers.entries
    ):
        role = layers.get(("role",), "dev")
        layers.put_in_section("http", "listen", default_http_listen(str(role)), DEFAULTS)


def _render_all(problems: Iterable[Finding], layers: Layers) -> list[str]:
    return [render(p, layers.source_of, SECRETS) for p in problems]
