"""Repository rulesets with bypass actors: the protection a real access repository has.

Modelled after GitHub's rulesets (``POST/GET/DELETE /repos/{o}/{r}/rulesets``,
``GET /repos/{o}/{r}/rules/branches/{branch}``):

* a ruleset targets branches by ``conditions.ref_name.include/exclude`` (``~DEFAULT_BRANCH``,
  ``~ALL``, ``refs/heads/<name>`` with ``*`` globs) and is enforced when ``enforcement`` is
  ``active`` (``evaluate`` and ``disabled`` enforce nothing);
* rules: ``update`` (only bypass actors may move the branch at all), ``pull_request`` (changes
  must come through a pull request: direct pushes, ref updates and contents-API commits are
  refused), ``non_fast_forward``, ``deletion``, ``creation``;
* bypass actors: ``Integration`` (a GitHub App, ``actor_id`` = App id), ``User`` (user id),
  ``RepositoryRole`` (``actor_id`` 5 = admin, 4 = write, 2 = maintain), ``OrganizationAdmin``,
  each with ``bypass_mode`` ``always`` (may push directly) or ``pull_request`` (may only bypass
  when merging a pull request, so a direct push is still refused) or ``exempt``.

Refusals carry GitHub's wording: the refs API answers **422** ``Repository rule violations
found`` followed by each violated rule's message; the contents API answers **409** with the same
message; a ``git push`` (the simulator's ``push``) is refused with ``GH013``. Merging a pull
request is not checked here (the classic protection model decides merges), so the rules below
are what a *direct* write — such as the Janus App's ledger commit — meets.

The REST endpoints are in :mod:`.routes_rulesets`.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .model import Repo
from .rules_git import GitRules

VIOLATION = "Repository rule violations found"
_RULE_MESSAGES = {
    "update": "Cannot update this protected ref.",
    "pull_request": "Changes must be made through a pull request.",
    "non_fast_forward": "Cannot force-push to this branch",
    "deletion": "Cannot delete this branch",
    "creation": "Cannot create ref due to creations being restricted.",
}
ROLE_IDS = {"admin": 5, "maintain": 2, "write": 4}
_ids = itertools.count(1)


@dataclass
class BypassActor:
    actor_type: str
    actor_id: int | None
    bypass_mode: str = "always"


@dataclass
class Ruleset:
    id: int
    name: str
    enforcement: str
    include: list[str]
    exclude: list[str]
    rules: list[str]
    bypass_actors: list[BypassActor] = field(default_factory=list)
    # The pull_request rule's required_approving_review_count (GitHub's default is 0): a merge
    # needs that many approvals from writers unless the merging actor bypasses the ruleset.
    required_approvals: int = 0

    def applies_to(self, repo: Repo, ref: str) -> bool:
        if self.enforcement != "active":
            return False

        def hit(pattern: str) -> bool:
            if pattern == "~ALL":
                return True
            if pattern == "~DEFAULT_BRANCH":
                return ref == f"refs/heads/{repo.default_branch}"
            return fnmatch.fnmatchcase(ref, pattern)

        return any(hit(p) for p in self.include) and not any(hit(p) for p in self.exclude)

    def as_json(self, repo: Repo, api: str) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "target": "branch", "source_type": "Repository",
            "source": repo.full_name, "enforcement": self.enforcement,
            "conditions": {"ref_name": {"include": self.include, "exclude": self.exclude}},
            "rules": [{"type": r} for r in self.rules],
            "bypass_actors": [{"actor_id": a.actor_id, "actor_type": a.actor_type,
                               "bypass_mode": a.bypass_mode} for a in self.bypass_actors],
            "_links": {"self": {"href": f"{api}/repos/{repo.full_name}/rulesets/{self.id}"}},
        }


class RulesetRules(GitRules):
    """World mixin: rulesets per repository, checked on every direct write to a ref."""

    def rulesets_of(self, repo: Repo) -> list[Ruleset]:
        store: dict[str, list[Ruleset]] = self.__dict__.setdefault("_rulesets", {})
        return store.setdefault(repo.full_name.lower(), [])

    def add_ruleset(self, full_name: str, name: str, rules: list[str], *,
                    include: list[str] | None = None, exclude: list[str] | None = None,
                    bypass: list[dict[str, Any]] | None = None,
                    enforcement: str = "active", required_approvals: int = 0) -> Ruleset:
        with self.lock:
            repo = self.repo(full_name)
            unknown = set(rules) - set(_RULE_MESSAGES)
            if unknown:
                raise ApiError(422, f"Invalid rule types: {', '.join(sorted(unknown))}")
            actors = [BypassActor(str(b.get("actor_type")), b.get("actor_id"),
                                  str(b.get("bypass_mode", "always"))) for b in bypass or []]
            ruleset = Ruleset(next(_ids), name, enforcement, include or ["~DEFAULT_BRANCH"],
                              exclude or [], list(rules), actors, required_approvals)
            self.rulesets_of(repo).append(ruleset)
            return ruleset

    def remove_ruleset(self, full_name: str, ruleset_id: int) -> None:
        with self.lock:
            sets = self.rulesets_of(self.repo(full_name))
            sets[:] = [r for r in sets if r.id != ruleset_id]

    def merge_bypasses(self, repo: Repo, ref: str, actor: str | None) -> list[Ruleset]:
        """The active rulesets on *ref* whose pull_request rule demands approvals that *actor*
        does not bypass when merging (bypass mode ``pull_request`` counts here)."""
        return [r for r in self.rulesets_of(repo)
                if r.applies_to(repo, ref) and "pull_request" in r.rules
                and r.required_approvals > 0
                and not self._bypasses(repo, r, actor, merging=True)]

    def _bypasses(self, repo: Repo, ruleset: Ruleset, actor: str | None,
                  merging: bool = False) -> bool:
        if actor is None:
            return False
        acc = self.accounts.get(actor.lower())
        if acc is None:
            return False
        for b in ruleset.bypass_actors:
            if b.bypass_mode not in ("always", "exempt") and not (
                    merging and b.bypass_mode == "pull_request"):
                continue  # "pull_request": only when merging a pull request
            if b.actor_type == "Integration" and acc.type == "Bot":
                app = self.apps.get(b.actor_id) if b.actor_id is not None else None
                if app is not None and app.bot_login.lower() == acc.login.lower():
                    return True
            elif b.actor_type == "User" and acc.type != "Bot" and b.actor_id == acc.id:
                return True
            elif b.actor_type == "RepositoryRole" and acc.type != "Bot":
                have = self.permission(repo, actor)
                if (b.actor_id is not None and ROLE_IDS.get(have) == b.actor_id) \
                        or (have == "admin" and b.actor_id in ROLE_IDS.values()):
                    return True
            elif b.actor_type == "OrganizationAdmin":
                org = self.orgs.get(repo.owner.lower())
                if org is not None and any(k.lower() == acc.login.lower() and v == "admin"
                                           for k, v in org.members.items()):
                    return True
        return False

    def violations(self, repo: Repo, ref: str, actor: str | None, *, kind: str,
                   before: str | None = None, after: str | None = None) -> list[str]:
        """Messages of every rule the write breaks (empty: allowed). *kind*: create, update,
        delete."""
        found: list[str] = []
        for ruleset in self.rulesets_of(repo):
            if not ruleset.applies_to(repo, ref) or self._bypasses(repo, ruleset, actor):
                continue
            for rule in ruleset.rules:
                if ((rule == "update" and kind == "update")
                        or (rule == "pull_request" and kind in ("update", "create"))
                        or (rule == "deletion" and kind == "delete")
                        or (rule == "creation" and kind == "create")
                        or (rule == "non_fast_forward" and kind == "update" and before and after
                        and not repo.git.is_ancestor(before, after))):
                    found.append(_RULE_MESSAGES[rule])
        return sorted(set(found))

    def _enforce(self, repo: Repo, ref: str, actor: str | None, kind: str, status: int,
                 before: str | None = None, after: str | None = None) -> None:
        broken = self.violations(repo, ref, actor, kind=kind, before=before, after=after)
        if broken:
            message = VIOLATION + "\n\n" + "\n".join(broken) + "\n\n"
            if status == 0:  # git push
                message = f"GH013: {VIOLATION} for {ref}.\n" + "\n".join(
                    f"- {m}" for m in broken)
                status = 422
            raise ApiError(status, message,
                           doc="https://docs.github.com/repositories/configuring-branches-and-"
                               "merges-in-your-repository/managing-rulesets")

    # -- the direct writes, checked before the git rules run --------------------------------------

    def create_ref(self, repo: Repo, ref: str, sha: str, actor: str | None) -> None:
        with self.lock:
            self._enforce(repo, ref, actor, "create", 422)
            super().create_ref(repo, ref, sha, actor)

    def update_ref(self, repo: Repo, ref: str, sha: str, force: bool, actor: str | None) -> None:
        with self.lock:
            self._enforce(repo, ref, actor, "update", 422, repo.git.ref(ref), sha)
            super().update_ref(repo, ref, sha, force, actor)

    def delete_ref(self, repo: Repo, ref: str, actor: str | None) -> None:
        with self.lock:
            self._enforce(repo, ref, actor, "delete", 422)
            super().delete_ref(repo, ref, actor)

    def put_file(self, repo: Repo, path: str, content: bytes, message: str,
                 branch: str | None, sha: str | None, actor: str, *args: Any,
                 **kwargs: Any) -> tuple[str, str]:
        with self.lock:
            ref = f"refs/heads/{branch or repo.default_branch}"
            self._enforce(repo, ref, actor, "update" if repo.git.ref(ref) else "create", 409)
            return super().put_file(repo, path, content, message, branch, sha, actor,
                                    *args, **kwargs)

    def delete_file(self, repo: Repo, path: str, message: str, branch: str | None, sha: str,
                    actor: str) -> str:
        with self.lock:
            self._enforce(repo, f"refs/heads/{branch or repo.default_branch}", actor,
                          "update", 409)
            return super().delete_file(repo, path, message, branch, sha, actor)

    def push(self, full_name: str, branch: str, files: dict[str, bytes | str | None],
             author: str, message: str, base: str | None = None) -> str:
        with self.lock:
            repo = self.repo(full_name)
            ref = f"refs/heads/{branch}"
            self._enforce(repo, ref, author, "update" if repo.git.ref(ref) else "create", 0)
            return super().push(full_name, branch, files, author, message, base)

    def push_series(self, full_name: str, branch: str,
                    commits: list[dict[str, bytes | str | None]], author: str, message: str,
                    base: str | None = None) -> str:
        with self.lock:
            repo = self.repo(full_name)
            ref = f"refs/heads/{branch}"
            self._enforce(repo, ref, author, "update" if repo.git.ref(ref) else "create", 0)
            return super().push_series(full_name, branch, commits, author, message, base)
