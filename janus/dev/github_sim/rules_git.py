"""World rules for git data: refs, pushes (and what they trigger on pull requests), contents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ApiError, not_found, validation_failed
from .gitstore import Person
from .model import (
    Pull,
    Repo,
    Review,
    now_iso,
)
from .state import WorldState, as_bytes

if TYPE_CHECKING:
    from .payloads import Payloads


class GitRules(WorldState):
    # -- git: refs and commits ------------------------------------------------------------------

    def resolve(self, repo: Repo, rev: str | None) -> str:
        sha = repo.git.resolve(rev or repo.default_branch)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {rev}")
        return sha

    def push(self, full_name: str, branch: str, files: dict[str, bytes | str | None],
             author: str, message: str, base: str | None = None) -> str:
        """Commit *files* on *branch* (created from *base* or the default branch) as *author*."""
        with self.lock:
            repo = self.repo(full_name)
            ref = f"refs/heads/{branch}"
            before = repo.git.ref(ref)
            parent = before or (repo.git.resolve(base or repo.default_branch))
            sha = repo.git.commit_changes(parent, as_bytes(files), message, self._person(author))
            repo.git.update_ref(ref, sha, before or "0" * 40)
            self.after_ref_update(repo, ref, before, sha, author)
            return sha

    def push_series(self, full_name: str, branch: str,
                    commits: list[dict[str, bytes | str | None]], author: str, message: str,
                    base: str | None = None) -> str:
        """One push of several commits (``git push`` of a local branch): each dict of *commits*
        is one commit, oldest first; one ``push`` event and one ``synchronize``."""
        with self.lock:
            repo = self.repo(full_name)
            ref = f"refs/heads/{branch}"
            before = repo.git.ref(ref)
            sha = before or repo.git.resolve(base or repo.default_branch)
            for i, files in enumerate(commits, 1):
                sha = repo.git.commit_changes(sha, as_bytes(files), f"{message} ({i})",
                                              self._person(author))
            assert sha is not None
            repo.git.update_ref(ref, sha, before or "0" * 40)
            self.after_ref_update(repo, ref, before, sha, author)
            return sha

    def create_ref(self, repo: Repo, ref: str, sha: str, actor: str | None) -> None:
        self.require(repo, actor, "write")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two "
                           "slashes.")
        if repo.git.ref(ref) is not None:
            raise ApiError(422, "Reference already exists")
        if repo.git.object_type(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        repo.git.update_ref(ref, sha, "0" * 40)
        self.after_ref_update(repo, ref, None, sha, actor or repo.owner)

    def update_ref(self, repo: Repo, ref: str, sha: str, force: bool, actor: str | None) -> None:
        self.require(repo, actor, "write")
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        if repo.git.object_type(sha) != "commit":
            raise ApiError(422, "Object does not exist")
        if not force and not repo.git.is_ancestor(before, sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.git.update_ref(ref, sha, before)
        self.after_ref_update(repo, ref, before, sha, actor or repo.owner)

    def delete_ref(self, repo: Repo, ref: str, actor: str | None) -> None:
        self.require(repo, actor, "write")
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        repo.git.delete_ref(ref)
        self.after_ref_update(repo, ref, before, None, actor or repo.owner)

    def after_ref_update(self, repo: Repo, ref: str, before: str | None, after: str | None,
                         pusher: str) -> None:
        """What GitHub does after a push: webhook, PR head sync, stale-review dismissal."""
        repo.pushed_at = now_iso()
        self.emit(repo, "push", lambda p: p.push(repo, ref, before, after, pusher))
        if not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        if after is not None:
            self.request_check_suites(repo, branch, before, after, pusher)
        if repo.parent is not None and after is not None:
            self._sync_fork_pulls(repo, branch, after, pusher)
        if after is None:  # deleting a head branch closes its open pull requests
            for pr in repo.pulls.values():
                if pr.state == "open" and pr.head_ref == branch and pr.head_repo is None:
                    pr.state, pr.closed_at, pr.updated_at = "closed", now_iso(), now_iso()
                    def closed(p: Payloads, pr: Pull = pr) -> dict[str, Any]:
                        return p.pull_request(repo, pr, "closed", pusher)

                    self.emit(repo, "pull_request", closed)
            return
        # Every open PR onto this branch needs a new test merge. As on GitHub they are computed
        # after this push has answered (renewal.py): until then ``mergeable`` is null.
        onto = [pr for pr in repo.pulls.values() if pr.state == "open" and pr.base_ref == branch]
        for pr in onto:
            pr.base_sha = after
        self.renew_test_merges_later(repo, onto)
        for pr in repo.pulls.values():
            if pr.state != "open":
                continue
            if pr.head_ref == branch and pr.head_repo is None and pr.head_sha != after:
                old_head = pr.head_sha
                pr.head_sha = after
                pr.updated_at = now_iso()
                self._refresh_test_merge(repo, pr)
                def synchronize(p: Payloads, pr: Pull = pr, old: str = old_head) -> dict[str, Any]:
                    return p.pull_request(repo, pr, "synchronize", pusher, before=old, after=after)

                self.emit(repo, "pull_request", synchronize)
                self._dismiss_stale(repo, pr, old_head, pusher)

    def _sync_fork_pulls(self, fork: Repo, branch: str, after: str, pusher: str) -> None:
        """A push to a fork's branch moves the head of the parent's PRs from that branch."""
        parent = self.repos.get((fork.parent or "").lower())
        if parent is None:
            return
        for pr in parent.pulls.values():
            if pr.state != "open" or pr.head_repo != fork.full_name or pr.head_ref != branch \
                    or pr.head_sha == after:
                continue
            parent.git.fetch(fork.git, f"+{after}:refs/pull/{pr.number}/head")
            old_head = pr.head_sha
            pr.head_sha = after
            pr.updated_at = now_iso()
            self._refresh_test_merge(parent, pr)
            def synchronize(p: Payloads, pr: Pull = pr, old: str = old_head) -> dict[str, Any]:
                return p.pull_request(parent, pr, "synchronize", pusher, before=old, after=after)

            self.emit(parent, "pull_request", synchronize)
            self._dismiss_stale(parent, pr, old_head, pusher)

    def _dismiss_stale(self, repo: Repo, pr: Pull, old_head: str, pusher: str) -> None:
        rules = repo.protection.get(pr.base_ref)
        if rules is None or not rules.dismiss_stale_reviews:
            return
        # GitHub keeps approvals when the pull request's own diff is unchanged (an empty
        # commit, or merging the base branch in without touching the PR's files).
        if self._pr_diff(repo, pr.base_sha, old_head) == self._pr_diff(repo, pr.base_sha,
                                                                        pr.head_sha):
            return
        for review in pr.reviews:
            if review.state == "APPROVED" and review.commit_id != pr.head_sha:
                review.state = "DISMISSED"
                def dismissed(p: Payloads, r: Review = review) -> dict[str, Any]:
                    return p.review(repo, pr, r, "dismissed", pusher)

                self.emit(repo, "pull_request_review", dismissed)

    @staticmethod
    def _pr_diff(repo: Repo, base: str, head: str) -> set[tuple[str, str | None]]:
        start = repo.git.merge_base(base, head) or base
        return {(c.path, c.new_sha) for c in repo.git.diff(start, head)}

    # -- contents -------------------------------------------------------------------------------

    def put_file(self, repo: Repo, path: str, content: bytes, message: str, branch: str | None,
                 sha: str | None, actor: str, author: Person | None = None,
                 committer: Person | None = None) -> tuple[str, str]:
        """Create or update one file; returns (commit sha, blob sha). GitHub's 409/422 rules.

        Like GitHub, a caller may name any *author*/*committer* (only the e-mail links a
        commit to an account), so "who wrote this commit" is not proof of who pushed it. What
        is proof: without a custom committer GitHub signs the commit itself ("web-flow") and
        reports ``verification.verified: true`` with the caller as committer — a pushed
        commit, whatever name and e-mail it carries, is ``unsigned``.
        """
        self.require(repo, actor, "write")
        branch = branch or repo.default_branch
        ref = f"refs/heads/{branch}"
        before = repo.git.ref(ref)
        if before is None and branch != repo.default_branch:
            raise ApiError(404, f"Branch {branch} not found")
        existing = repo.git.entry_at(before, path) if before else None
        if existing is not None and existing.type != "blob":
            raise ApiError(422, "path is a directory")
        if existing is not None and sha is None:
            raise validation_failed("Content", "missing_field", "sha",
                                    '"sha" wasn\'t supplied.')
        if existing is not None and sha != existing.sha:
            raise ApiError(409, f"{path} does not match {sha}")
        if existing is None and sha is not None:
            raise ApiError(409, f"{path} does not match {sha}")
        me = self._person(actor)
        commit = repo.git.commit_changes(before, {path: content}, message, author or me,
                                         committer or (me if author is None else author))
        if committer is None and author is None:
            repo.signed[commit] = self.account(actor).login  # made by GitHub: signed
        repo.git.update_ref(ref, commit, before or "0" * 40)
        self.after_ref_update(repo, ref, before, commit, actor)
        entry = repo.git.entry_at(commit, path)
        assert entry is not None
        return commit, entry.sha

    def delete_file(self, repo: Repo, path: str, message: str, branch: str | None, sha: str,
                    actor: str) -> str:
        self.require(repo, actor, "write")
        branch = branch or repo.default_branch
        ref = f"refs/heads/{branch}"
        before = repo.git.ref(ref)
        if before is None:
            raise ApiError(404, f"Branch {branch} not found")
        existing = repo.git.entry_at(before, path)
        if existing is None:
            raise not_found()
        if existing.sha != sha:
            raise ApiError(409, f"{path} does not match {sha}")
        commit = repo.git.commit_changes(before, {path: None}, message, self._person(actor))
        repo.signed[commit] = self.account(actor).login  # made by GitHub: signed
        repo.git.update_ref(ref, commit, before)
        self.after_ref_update(repo, ref, before, commit, actor)
        return commit

