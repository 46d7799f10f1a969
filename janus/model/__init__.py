"""Request and policy documents: safe loading, JSON Schemas, typed objects, durations.

Everything here is pure: bytes in, typed objects or :class:`Problem` lists out.
"""

from janus.model.durations import format_duration, parse_duration
from janus.model.policy import (
    AccessPolicy,
    BreakGlass,
    ConfigError,
    JanusConfig,
    PolicySet,
    load_config_file,
    load_policy_set,
    load_policy_set_from_files,
    namespace_matches,
)
from janus.model.problems import Problem
from janus.model.request import Request, load_request

__all__ = [
    "AccessPolicy",
    "BreakGlass",
    "ConfigError",
    "JanusConfig",
    "PolicySet",
    "Problem",
    "Request",
    "format_duration",
    "load_config_file",
    "load_policy_set",
    "load_policy_set_from_files",
    "load_request",
    "namespace_matches",
    "parse_duration",
]
