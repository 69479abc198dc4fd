"""The TOML file and the ``PODIUM_*`` environment as layers of settings."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from runtime.config.layers import Layers
from runtime.config.model import SECTION_TYPES, setting_type
from runtime.config.problems import ConfigError, Finding
from runtime.config.text import TextError, parse_text

ENV_PREFIX = "PODIUM_"
# names the config file; read before the file, so it is not a setting itself
CONFIG_VARIABLE = "PODIUM_CONFIG"
# the `podium` client's own variables: a node started from a shell that set them for the
# client (as the README's walkthrough does) must not take them for misspelled settings
CLIENT_VARIABLES = frozenset({"PODIUM_URL", "PODIUM_TOKEN_FILE"})


def file_layer(path: Path) -> Layers:
    """A missing or malformed file stops the node: a config that is ignored is worse."""
    try:
        with path.open("rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([f"config file {str(path)!r} does not exist"]) from None
    except OSError as e:
        raise ConfigError([f"config file {str(path)!r} cannot be read: {e.strerror}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"config file {str(path)!r} is not valid TOML: {e}"]) from None
    layers = Layers()
    layers.put_all(table, str(path))
    return layers


def env_layer(env: Mapping[str, str]) -> Layers:
    """``PODIUM_CAPACITY`` sets ``capacity``, ``PODIUM_RAFT__TICK_S`` sets ``raft.tick_s``.

    Every other ``PODIUM_*`` name is reported as an unknown setting, so a
    typo in a deployment manifest does not pass silently.
    """
    layers = Layers()
    # sorted: PODIUM_RAFT (a whole table) comes before PODIUM_RAFT__TICK_S,
    # so the more specific variable wins whatever the environment's order
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_VARIABLE or name in CLIENT_VARIABLES:
            continue
        path = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
        if len(path) > 2 or not all(path) or (len(path) == 2 and path[0] not in SECTION_TYPES):
            layers.findings.append(
                Finding((), f"{name} is not a podium setting", source="the environment")
            )
            continue
        try:
            value = parse_text(env[name], setting_type(path))
        except TextError as e:
            layers.findings.append(Finding(path, str(e), env[name], source=name))
            continue
        layers.put_at(path, value, name)
    return layers
