"""A podium node's configuration.

``load_config(argv, env)`` reads, in rising precedence, the defaults, a TOML
file (``--config FILE`` or ``PODIUM_CONFIG``), ``PODIUM_*`` environment
variables (``PODIUM_RAFT__TICK_S`` for ``[raft] tick_s``) and the command-line
flags of ``python -m runtime.node``, and returns a frozen :class:`NodeConfig`
or raises :class:`ConfigError` naming every bad key and where it was set.
"""

from runtime.config.flags import arg_parser
from runtime.config.hostport import AddressError, format_hostport, parse_hostport
from runtime.config.load import config_from_dict, load_config
from runtime.config.model import (
    AuthConfig,
    HttpConfig,
    NodeConfig,
    RaftConfig,
    RetentionConfig,
    SchedulerConfig,
    TlsConfig,
    UserConfig,
)
from runtime.config.problems import ConfigError

__all__ = [
    "AddressError",
    "AuthConfig",
    "ConfigError",
    "HttpConfig",
    "NodeConfig",
    "RaftConfig",
    "RetentionConfig",
    "SchedulerConfig",
    "TlsConfig",
    "UserConfig",
    "arg_parser",
    "config_from_dict",
    "format_hostport",
    "load_config",
    "parse_hostport",
]
