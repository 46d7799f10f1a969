"""The access repo's policies, as the web app judges requests and finds admins.

Read from a local checkout (``access_repo_dir``) when configured, otherwise from the default
branch of the access repo on GitHub — the same policies the receiver will judge the PR against
(its base commit). Cached briefly, so a policy merged a minute ago is in force a minute later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from janus.model import ConfigError, PolicySet, load_policy_set, load_policy_set_from_files

if TYPE_CHECKING:
    from github.Repository import Repository

_TTL_SECONDS = 60.0


class PolicyUnavailable(RuntimeError):
    """The policies cannot be read or are invalid: the form refuses to open PRs."""


def from_directory(repo_dir: Path) -> Callable[[], PolicySet]:
    return lambda: load_policy_set(repo_dir)


def from_github(get_repo: Callable[[], Repository]) -> Callable[[], PolicySet]:
    def load() -> PolicySet:
        repo = get_repo()
        entries = repo.get_contents("policies", ref=repo.default_branch)
        if not isinstance(entries, list):  # GitHub answers a file with one ContentFile
            raise PolicyUnavailable("policies on the default branch is a file, not a directory")
        files = {
            entry.path: entry.decoded_content
            for entry in entries
            if entry.type == "file" and entry.path.endswith(".yaml")
        }
        return load_policy_set_from_files(files)

    return load


class PolicySource:
    def __init__(self, load: Callable[[], PolicySet] | None, ttl: float = _TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, PolicySet] | None = None

    def get(self) -> PolicySet:
        if self._load is None:
            raise PolicyUnavailable("no access repo is configured (repo or access_repo_dir)")
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._ttl:
                return self._cached[1]
        try:
            policies = self._load()
        except ConfigError as exc:
            raise PolicyUnavailable(f"the access repo's policies are invalid: {exc}") from exc
        except Exception as exc:
            raise PolicyUnavailable(f"the access repo's policies cannot be read: {exc}") from exc
        with self._lock:
            self._cached = (time.monotonic(), policies)
        return policies

    def get_or_none(self) -> PolicySet | None:
        try:
            return self.get()
        except PolicyUnavailable:
            return None
