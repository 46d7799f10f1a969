"""The one exception hierarchy of Janus.

Every error Janus raises on purpose derives from :class:`JanusError`, so a caller at the edge of a
process (a CLI command, a web route, a kopf handler) can catch "anything Janus meant to say" in one
place and let genuine bugs through. Errors from outside libraries (the Kubernetes client's
``ApiException``, PyGithub's ``GithubException``, httpx's errors) are translated into these once, at
the edge that talks to that library — ``janus.resource`` for Kubernetes, ``janus.gitops.client`` for
GitHub — and never leak into the layers above.

The tree (each domain module defines its leaves under these bases)::

    JanusError
    ├── InvalidInput        bad input from a person or a file: says what, where, what is accepted
    │   └── ConfigError     policies/JanusConfig or process settings that cannot be used
    ├── NotFound            the thing named does not exist (CR, grant, PR, cluster)
    ├── Conflict            the state changed underneath (compare-and-set lost, already revoked)
    ├── Refused             a rule says no (verification step, admission, authorization)
    └── Unavailable         a dependency cannot be reached now (API server, GitHub, database);
                            retrying later may succeed

A leaf may also derive from a built-in type (``LookupError``, ``ValueError``) where existing callers
catch that; the Janus base comes first so ``except JanusError`` always works.
"""

from __future__ import annotations


class JanusError(Exception):
    """Base of every error Janus raises on purpose."""


class InvalidInput(JanusError):
    """Input that cannot be accepted; the message says what would be."""


class ConfigError(InvalidInput):
    """Configuration (policies, settings, flags) that cannot be used."""


class NotFound(JanusError):
    """The named object does not exist."""


class Conflict(JanusError):
    """The state changed underneath the caller; re-read and decide again."""


class Refused(JanusError):
    """A rule refused the operation (verification, admission, authorization)."""


class Unavailable(JanusError):
    """A dependency (API server, GitHub, database) cannot be reached now."""
