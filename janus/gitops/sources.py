"""Reading the access repository at a given commit through the API: request files, policies and
CODEOWNERS. Always at an explicit commit SHA, never a branch name, so what was judged is exactly
what is recorded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from github import GithubException
from github.Repository import Repository

from janus import errors
from janus.model import ConfigError, PolicySet, Problem, load_policy_set_from_files
from janus.policy.codeowners import CodeOwners, find_codeowners

POLICIES_DIR = "policies"
REQUESTS_DIR = "requests"
# Files a human may keep in requests/ that are not requests (docs/design.md §3).
REQUESTS_EXTRAS = frozenset({"README.md", ".gitkeep"})


@dataclass(frozen=True)
class FileAtCommit:
    path: str
    data: bytes
    blob_sha: str


class UnreadableFile(errors.InvalidInput):
    """GitHub sent the file without its content: the contents API answers a file of 1–100 MB
    with ``encoding: "none"`` and an empty ``content`` (PyGithub's ``decoded_content`` then
    asserts). No request, policy or CODEOWNERS file is legitimately that big, so it is a
    problem to report, never a crash of the pass that met it."""

    def __init__(self, path: str, blob_sha: str, size: int, encoding: str) -> None:
        super().__init__(f"{path} is too large for GitHub's contents API ({size} bytes, "
                         f"encoding {encoding!r}); a request file is a few hundred bytes")
        self.path = path
        self.blob_sha = blob_sha
        self.size = size


def read_file(repo: Repository, path: str, ref: str) -> FileAtCommit | None:
    """The file's bytes at *ref*, or None if absent there (or a directory). Raises
    :class:`UnreadableFile` when GitHub sends it without content (large files)."""
    try:
        content = repo.get_contents(path, ref=ref)
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
    if isinstance(content, list):
        return None
    if content.encoding != "base64":
        raise UnreadableFile(path, content.sha, content.size, content.encoding)
    return FileAtCommit(path, content.decoded_content, content.sha)


def read_text(repo: Repository, path: str, ref: str) -> str | None:
    found = read_file(repo, path, ref)
    return None if found is None else found.data.decode("utf-8", "replace")


def policy_files(repo: Repository, ref: str) -> dict[str, bytes]:
    """``policies/*.yaml`` at *ref*, keyed by repo-relative path."""
    try:
        listing = repo.get_contents(POLICIES_DIR, ref=ref)
    except GithubException as exc:
        if exc.status == 404:
            return {}
        raise
    entries = listing if isinstance(listing, list) else [listing]
    files: dict[str, bytes] = {}
    for entry in entries:
        if entry.type == "file" and entry.path.endswith((".yaml", ".yml")):
            found = read_file(repo, entry.path, ref)
            if found is not None:
                files[found.path] = found.data
    return files


def load_policy_set(repo: Repository, ref: str) -> PolicySet:
    """The policies in force at *ref*; raises :class:`janus.model.ConfigError` when invalid."""
    return load_policy_set_from_files(policy_files(repo, ref))


# Inputs of a judgement: the policies/ and .github/ trees, docs/ and a root CODEOWNERS.
_POLICY_INPUTS = frozenset({POLICIES_DIR, ".github", "docs", "CODEOWNERS"})
_CACHE_SIZE = 64
_cache: OrderedDict[tuple[str, ...], tuple[PolicySet | None, ConfigError | None,
                                            CodeOwners | None]] = OrderedDict()
_cache_lock = threading.Lock()


def load_policies_and_codeowners(
    repo: Repository, ref: str
) -> tuple[PolicySet, CodeOwners | None]:
    """Policies and CODEOWNERS at *ref*, cached by the git object ids they are read from.

    Git objects are content-addressed, so two commits whose ``policies/``, ``.github/``,
    ``docs/`` trees and root ``CODEOWNERS`` blob have the same ids judge identically; a burst
    of merges costs one tree read each instead of re-reading every policy file. Raises
    :class:`janus.model.ConfigError` when the policies do not load.
    """
    root = repo.get_git_tree(ref)
    key = (repo.full_name.lower(), *sorted(f"{e.path}:{e.sha}" for e in root.tree
                                           if e.path in _POLICY_INPUTS))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        try:
            policy_set: PolicySet | None = load_policy_set(repo, ref)
            error: ConfigError | None = None
        except ConfigError as exc:
            policy_set, error = None, exc
        cached = (policy_set, error, load_codeowners(repo, ref))
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    policy_set, error, codeowners = cached
    if error is not None:
        raise error
    if policy_set is None:  # a real check: python -O strips asserts
        raise ConfigError([Problem("policies/", None, None, "policies.missing",
                                   f"no policies loaded at {ref}")])
    return policy_set, codeowners


def load_codeowners(repo: Repository, ref: str) -> CodeOwners | None:
    found = find_codeowners(lambda path: read_text(repo, path, ref))
    return None if found is None else found[1]


def is_request_path(path: str) -> bool:
    """Under ``requests/`` and not one of the human extras (README.md, .gitkeep)."""
    return path.startswith(f"{REQUESTS_DIR}/") and path.rsplit("/", 1)[-1] not in REQUESTS_EXTRAS


def request_path_parts(path: str) -> tuple[str, str, str] | None:
    """(cluster, namespace, name) of ``requests/<cluster>/<namespace>/<name>.yaml``."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != REQUESTS_DIR or not parts[3].endswith(".yaml"):
        return None
    return parts[1], parts[2], parts[3][: -len(".yaml")]


def teams_named(policy_set: PolicySet, codeowners: CodeOwners | None) -> set[str]:
    """Every ``org/slug`` the policies or CODEOWNERS mention: the candidates for membership."""
    config = policy_set.config
    teams = set(config.admin_teams)
    for policy in policy_set.policies:
        teams |= policy.requester_teams | policy.approver_teams
    if codeowners is not None:
        for rule in codeowners.rules:
            teams |= {o[1:].lower() for o in rule.owners if o.startswith("@") and "/" in o}
    return teams
