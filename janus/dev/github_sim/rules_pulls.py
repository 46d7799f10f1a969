"""World rules for pull requests: opening, code-owner review requests, reviews, protection,
merging, issue comments and labels."""

from __future__ import annotations

import time
from typing import Any

from . import codeowners
from .errors import ApiError, not_found, unprocessable, validation_failed
from .gitstore import MergeConflict, Person
from .model import (
    Comment,
    Issue,
    Label,
    Protection,
    Pull,
    Repo,
    Review,
    Team,
    now_iso,
    perm_rank,
)
from .state import WorldState

OPINIONATED = ("APPROVED", "CHANGES_REQUESTED")


class PullRules(WorldState):
    # -- pull requests --------------------------------------------------------------------------

    def pull(self, repo: Repo, number: int) -> Pull:
        pr = repo.pulls.get(number)
        if pr is None:
            raise not_found()
        return pr

    def create_pull(self, repo: Repo, title: str | None, head: str, base: str,
                    body: str | None, draft: bool, actor: str,
                    maintainer_can_modify: bool = False) -> Pull:
        self.require(repo, actor, "read")
        head_repo: Repo | None = None
        if ":" in head:
            owner, _, head = head.partition(":")
            if owner.lower() != repo.owner.lower():
                # "owner:branch" with another owner: a branch of that owner's fork.
                head_repo = next((f for f in self.forks_of(repo)
                                  if f.owner.lower() == owner.lower()), None)
                if head_repo is None:
                    raise validation_failed("PullRequest", "invalid", "head")
        if not title:
            raise validation_failed("PullRequest", "missing_field", "title")
        if head_repo is not None:
            fork_sha = head_repo.git.ref(f"refs/heads/{head}")
            if fork_sha is not None:
                # GitHub keeps a cross-repository PR's head in the base repository too.
                repo.git.fetch(head_repo.git, f"+{fork_sha}:refs/pull/{repo.next_number}/head")
            head_sha = fork_sha
        else:
            head_sha = repo.git.ref(f"refs/heads/{head}")
        base_sha = repo.git.ref(f"refs/heads/{base}")
        if base_sha is None:
            raise validation_failed("PullRequest", "invalid", "base")
        if head_sha is None:
            raise validation_failed("PullRequest", "invalid", "head")
        head_full = head_repo.full_name if head_repo is not None else None
        for other in repo.pulls.values():
            if other.state == "open" and other.head_ref == head and other.base_ref == base \
                    and other.head_repo == head_full:
                owner_login = head_repo.owner if head_repo is not None else repo.owner
                raise ApiError(422, "Validation Failed", [{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {owner_login}:{head}."}])
        if not repo.git.commits_between(base_sha, head_sha):
            raise ApiError(422, "Validation Failed", [{
                "resource": "PullRequest", "code": "custom",
                "message": f"No commits between {base} and {head}"}])
        stamp = now_iso()
        pr = Pull(number=repo.next_number, id=self.next_id(), title=title, body=body,
                  user=self.account(actor).login, head_ref=head, head_sha=head_sha,
                  base_ref=base, base_sha=base_sha, created_at=stamp, updated_at=stamp,
                  draft=draft, maintainer_can_modify=maintainer_can_modify,
                  head_repo=head_full)
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        self._refresh_test_merge(repo, pr)
        self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "opened", actor))
        if not draft:  # GitHub asks code owners right after opening, never for drafts
            self._request_code_owners(repo, pr)
        return pr

    def _refresh_test_merge(self, repo: Repo, pr: Pull) -> None:
        # GitHub keeps a test merge at refs/pull/N/merge; its sha is the open PR's
        # merge_commit_sha. A conflict leaves it unset (mergeable: false).
        self._apply_test_merge(repo, pr, self._test_merge(repo, pr.base_sha, pr.head_sha))

    def _test_merge(self, repo: Repo, base: str, head: str) -> str | None:
        """The test-merge commit of *head* into *base*, or None if they conflict. Only writes
        git objects, so it needs no world lock."""
        try:
            tree = repo.git.merge_trees(base, head)
        except MergeConflict:
            return None
        return repo.git.commit_tree(
            tree, [base, head], f"Merge {head} into {base}",
            Person("GitHub", "noreply@github.com", int(time.time())),
        )

    def _apply_test_merge(self, repo: Repo, pr: Pull, sha: str | None) -> None:
        pr.test_merge_sha, pr.test_merge_stale = sha, False
        if sha is not None:
            repo.git.set_refs({f"refs/pull/{pr.number}/head": pr.head_sha,
                               f"refs/pull/{pr.number}/merge": sha})

    def _renew_stale_test_merge(self, repo: Repo, pr: Pull) -> None:
        """The background renewal of one stale test merge (renewal.py): the git work runs
        outside the world lock; the result is kept only if the PR still has the base and head
        it was computed for — otherwise a newer push overtook it and has queued it again."""
        with self.lock.shared():
            if not pr.test_merge_stale or pr.state != "open":
                return
            base, head = pr.base_sha, pr.head_sha
        sha = self._test_merge(repo, base, head)
        with self.lock:
            if pr.test_merge_stale and pr.state == "open" and (pr.base_sha, pr.head_sha) == (
                    base, head):
                self._apply_test_merge(repo, pr, sha)

    def mergeable(self, pr: Pull) -> bool | None:
        """GitHub's ``mergeable``: None for a closed PR, and while its test merge is stale
        (the background renewal has not redone it since the base moved)."""
        if pr.merged or pr.state != "open" or pr.test_merge_stale:
            return None
        return pr.test_merge_sha is not None

    def changed_paths(self, repo: Repo, pr: Pull) -> list[str]:
        base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
        return [c.path for c in repo.git.diff(base, pr.head_sha)] + [
            c.previous_path for c in repo.git.diff(base, pr.head_sha) if c.previous_path
        ]

    def code_owners_for(self, repo: Repo, pr: Pull) -> dict[str, list[str]]:
        """Owners of each changed path, per CODEOWNERS on the base branch."""
        text = codeowners.read_codeowners(repo.git, pr.base_sha)
        resolve = codeowners.owners_resolver(text)
        return {path: resolve(path) for path in self.changed_paths(repo, pr)}

    def eligible_owner(self, repo: Repo, owner: str) -> bool:
        """GitHub ignores owners without write access (teams: explicitly granted write)."""
        name = owner.lstrip("@")
        if "/" in name:
            perm = repo.team_permissions.get(name.lower(), "none")
            return perm_rank(perm) >= perm_rank("write")
        return perm_rank(self.permission(repo, name)) >= perm_rank("write")

    def _request_code_owners(self, repo: Repo, pr: Pull) -> None:
        for owners in self.code_owners_for(repo, pr).values():
            for owner in owners:
                if not self.eligible_owner(repo, owner):
                    continue  # GitHub silently ignores owners without write access
                name = owner.lstrip("@")
                if "/" in name:
                    self._add_requested_team(repo, pr, self.team(*name.split("/", 1)), pr.user)
                elif name.lower() != pr.user.lower() and name.lower() in self.accounts:
                    self._add_requested_user(repo, pr, self.account(name).login, pr.user)

    def request_reviewers(self, repo: Repo, pr: Pull, users: list[str], teams: list[str],
                          actor: str) -> None:
        self.require(repo, actor, "triage")
        for login in users:
            acc = self.account(login) if login.lower() in self.accounts else None
            if acc is None:
                raise unprocessable(f"Reviews may only be requested from collaborators. One or "
                                    f"more of the users or teams you specified is not a "
                                    f"collaborator of the {repo.full_name} repository.")
            if acc.login.lower() == pr.user.lower():
                raise unprocessable("Review cannot be requested from pull request author.")
            self._add_requested_user(repo, pr, acc.login, actor)
        for slug in teams:
            self._add_requested_team(repo, pr, self.team(repo.owner, slug), actor)

    def _add_requested_user(self, repo: Repo, pr: Pull, login: str, actor: str) -> None:
        if login in pr.requested_reviewers:
            return
        pr.requested_reviewers.append(login)
        self.emit(repo, "pull_request", lambda p: p.pull_request(
            repo, pr, "review_requested", actor,
            extra={"requested_reviewer": p.render.user(login)}))

    def _add_requested_team(self, repo: Repo, pr: Pull, team: Team, actor: str) -> None:
        key = f"{team.org}/{team.slug}"
        if key.lower() in (t.lower() for t in pr.requested_teams):
            return
        pr.requested_teams.append(key)
        self.emit(repo, "pull_request", lambda p: p.pull_request(
            repo, pr, "review_requested", actor, extra={"requested_team": p.render.team(team)}))

    def remove_requested(self, repo: Repo, pr: Pull, users: list[str], teams: list[str],
                         actor: str) -> None:
        self.require(repo, actor, "triage")
        pr.requested_reviewers = [u for u in pr.requested_reviewers
                                  if u.lower() not in {x.lower() for x in users}]
        pr.requested_teams = [t for t in pr.requested_teams
                              if t.split("/")[-1].lower() not in {x.lower() for x in teams}]

    def edit_pull(self, repo: Repo, pr: Pull, changes: dict[str, Any], actor: str) -> None:
        if actor.lower() != pr.user.lower():
            self.require(repo, actor, "triage")
        edited: dict[str, Any] = {}
        if "title" in changes and changes["title"] != pr.title:
            edited["title"] = {"from": pr.title}
            pr.title = changes["title"]
        if "body" in changes and changes["body"] != pr.body:
            edited["body"] = {"from": pr.body or ""}
            pr.body = changes["body"]
        if "base" in changes and changes["base"] != pr.base_ref:
            base_sha = repo.git.ref(f"refs/heads/{changes['base']}")
            if base_sha is None:
                raise validation_failed("PullRequest", "invalid", "base")
            edited["base"] = {"ref": {"from": pr.base_ref}, "sha": {"from": pr.base_sha}}
            pr.base_ref, pr.base_sha = changes["base"], base_sha
            self._refresh_test_merge(repo, pr)
        pr.updated_at = now_iso()
        if edited and pr.state == "open":
            self.emit(repo, "pull_request",
                      lambda p: p.pull_request(repo, pr, "edited", actor, changes=edited))
        state = changes.get("state")
        if state == "closed" and pr.state == "open":
            pr.state = "closed"
            pr.closed_at = now_iso()
            self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "closed", actor))
        elif state == "open" and pr.state == "closed" and not pr.merged:
            if repo.git.ref(f"refs/heads/{pr.head_ref}") is None:
                raise validation_failed("PullRequest", "custom", "state",
                                        "state cannot be changed. The head branch was deleted.")
            pr.state = "open"
            pr.closed_at = None
            self._refresh_test_merge(repo, pr)
            self.emit(repo, "pull_request",
                      lambda p: p.pull_request(repo, pr, "reopened", actor))

    # -- reviews --------------------------------------------------------------------------------

    def create_review(self, repo: Repo, pr: Pull, event: str | None, body: str | None,
                      commit_id: str | None, actor: str) -> Review:
        self.require(repo, actor, "read")
        login = self.account(actor).login
        states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                  "COMMENT": "COMMENTED", None: "PENDING", "": "PENDING"}
        if event not in states:
            raise unprocessable(f"Unknown review event {event}")
        state = states[event]
        if login.lower() == pr.user.lower() and state == "APPROVED":
            raise unprocessable("Can not approve your own pull request")
        if login.lower() == pr.user.lower() and state == "CHANGES_REQUESTED":
            raise unprocessable("Can not request changes on your own pull request")
        if state in ("CHANGES_REQUESTED", "COMMENTED") and not body:
            raise unprocessable(f"Review Cannot {event.lower().replace('_', ' ')} "
                                "without a body" if event else "Body is required")
        commit = commit_id or pr.head_sha
        if commit_id and commit_id not in repo.git.commits_between(pr.base_sha, pr.head_sha):
            raise unprocessable("Commit is not part of the pull request")
        review = Review(id=self.next_id(), user=login, state=state, body=body or "",
                        commit_id=commit, submitted_at=now_iso())
        pr.reviews.append(review)
        if state != "PENDING":
            pr.updated_at = now_iso()  # as on GitHub: a submitted review moves updated_at
            pr.requested_reviewers = [u for u in pr.requested_reviewers if u != login]
            self.emit(repo, "pull_request_review",
                      lambda p: p.review(repo, pr, review, "submitted", login))
        return review

    def review(self, pr: Pull, review_id: int) -> Review:
        for review in pr.reviews:
            if review.id == review_id:
                return review
        raise not_found()

    def dismiss_review(self, repo: Repo, pr: Pull, review: Review, message: str,
                       actor: str) -> None:
        self.require(repo, actor, "write")
        if review.state not in OPINIONATED:
            raise unprocessable(f"Can not dismiss a {review.state.lower()} pull request review")
        review.state = "DISMISSED"
        self.emit(repo, "pull_request_review",
                  lambda p: p.review(repo, pr, review, "dismissed", actor))
        del message  # GitHub shows the dismissal message in the timeline, not on the review

    def latest_opinions(self, repo: Repo, pr: Pull) -> dict[str, Review]:
        latest: dict[str, Review] = {}
        for review in pr.reviews:
            if review.state in (*OPINIONATED, "DISMISSED"):
                latest[review.user] = review
        return latest

    # -- merge ----------------------------------------------------------------------------------

    def merge(self, repo: Repo, pr: Pull, actor: str, method: str = "merge",
              sha: str | None = None, title: str | None = None,
              message: str | None = None) -> str:
        self.require(repo, actor, "write")
        if pr.merged or pr.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha and sha != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        if pr.draft:
            raise ApiError(405, "Pull Request is still a draft")
        self.check_protection(repo, pr, actor)
        base_tip = repo.git.ref(f"refs/heads/{pr.base_ref}")
        assert base_tip is not None
        try:
            tree = repo.git.merge_trees(base_tip, pr.head_sha)
        except MergeConflict:
            raise ApiError(405, "Pull Request is not mergeable") from None
        person = self._person(actor)
        if method == "merge":
            head_owner = pr.head_repo.split("/")[0] if pr.head_repo else repo.owner
            text = title or f"Merge pull request #{pr.number} from {head_owner}/{pr.head_ref}"
            text += f"\n\n{message if message is not None else pr.title}\n"
            commit = repo.git.commit_tree(tree, [base_tip, pr.head_sha], text, person)
        elif method == "squash":
            text = (title or f"{pr.title} (#{pr.number})") + (f"\n\n{message}\n" if message
                                                               else "\n")
            commit = repo.git.commit_tree(tree, [base_tip], text, person)
        else:
            raise ApiError(405, "Rebase merges are not allowed on this repository.")
        repo.git.update_ref(f"refs/heads/{pr.base_ref}", commit, base_tip)
        pr.merged, pr.merged_by, pr.merged_at = True, self.account(actor).login, now_iso()
        pr.merge_commit_sha = commit
        pr.state, pr.closed_at, pr.updated_at = "closed", pr.merged_at, pr.merged_at
        pr.base_sha = base_tip
        self.after_ref_update(repo, f"refs/heads/{pr.base_ref}", base_tip, commit, actor)
        self.emit(repo, "pull_request", lambda p: p.pull_request(repo, pr, "closed", actor))
        return commit

    def check_protection(self, repo: Repo, pr: Pull, actor: str | None) -> None:
        """Raise GitHub's 405 when protection forbids *actor* (None: any non-admin) to merge:
        a ruleset's pull_request rule (bypass actors exempt), then classic protection."""
        self._check_ruleset_approvals(repo, pr, actor)
        rules = repo.protection.get(pr.base_ref)
        if rules is None:
            return
        if self.permission(repo, actor) == "admin" and not rules.enforce_admins:
            return  # admins bypass classic protection unless it is enforced for them
        if actor is not None and any(self.apps[a].bot_login.lower() == actor.lower()
                                     for a in rules.bypass_apps if a in self.apps):
            self._check_required(repo, pr, rules)  # bypasses the reviews, not the checks
            return
        writers = {
            login: r for login, r in self.latest_opinions(repo, pr).items()
            if perm_rank(self.permission(repo, login)) >= perm_rank("write")
        }
        if any(r.state == "CHANGES_REQUESTED" for r in writers.values()):
            raise ApiError(405, "Changes must be made through a pull request. Changes have "
                           "been requested.")
        approvers = [login for login, r in writers.items() if r.state == "APPROVED"]
        if len(approvers) < rules.required_approvals:
            n = rules.required_approvals
            raise ApiError(405, f"At least {n} approving review{'s' if n > 1 else ''} "
                           f"{'are' if n > 1 else 'is'} required by reviewers with write access.")
        if rules.require_code_owner_reviews:
            for path, owners in self.code_owners_for(repo, pr).items():
                if owners and not any(self._owns(repo, o, a) for o in owners for a in approvers):
                    raise ApiError(405, f"Waiting on code owner review from "
                                   f"{', '.join(owners)} for {path}.")
        self._check_required(repo, pr, rules)

    def _check_required(self, repo: Repo, pr: Pull, rules: Protection) -> None:
        for context, app_id in rules.required_checks:
            if not self._check_passed(repo, pr.head_sha, context, app_id):
                raise ApiError(405, f'Required status check "{context}" is expected.')

    def _check_ruleset_approvals(self, repo: Repo, pr: Pull, actor: str | None) -> None:
        bypasses = getattr(self, "merge_bypasses", None)  # the rulesets mixin, in World
        if bypasses is None:
            return
        approvals = sum(1 for login, r in self.latest_opinions(repo, pr).items()
                        if r.state == "APPROVED"
                        and perm_rank(self.permission(repo, login)) >= perm_rank("write"))
        for ruleset in bypasses(repo, f"refs/heads/{pr.base_ref}", actor):
            if approvals < ruleset.required_approvals:
                n = ruleset.required_approvals
                raise ApiError(405, f"Repository rule violations found\n\nAt least {n} "
                               f"approving review{'s are' if n > 1 else ' is'} required by "
                               "reviewers with write access.\n\n")

    def _check_passed(self, repo: Repo, sha: str, context: str, app_id: int | None) -> bool:
        runs = [r for r in repo.check_runs.values() if r.head_sha == sha and r.name == context
                and (app_id is None or r.app_id == app_id)]
        if runs:
            latest = max(runs, key=lambda r: r.id)
            return latest.conclusion in ("success", "neutral", "skipped")
        if app_id is not None:
            return False
        statuses = [st for st in repo.statuses
                    if st.sha == sha and st.context.lower() == context.lower()]
        return bool(statuses) and statuses[-1].state == "success"

    def _owns(self, repo: Repo, owner: str, login: str) -> bool:
        name = owner.lstrip("@")
        if "/" in name:
            org, _, slug = name.partition("/")
            try:
                team = self.team(org, slug)
            except ApiError:
                return False
            return login in team.members and self.eligible_owner(repo, owner)
        return name.lower() == login.lower()

    def set_protection(self, full_name: str, branch: str, **rules: Any) -> Protection:
        with self.lock:
            repo = self.repo(full_name)
            repo.protection[branch] = Protection(**rules)
            return repo.protection[branch]

    # -- issue comments and labels --------------------------------------------------------------

    def create_comment(self, repo: Repo, number: int, body: str, actor: str) -> Comment:
        self.require(repo, actor, "read")
        pr = self.issue_or_pull(repo, number)
        if not body:
            raise validation_failed("IssueComment", "missing_field", "body")
        stamp = now_iso()
        comment = Comment(id=self.next_id(), issue_number=number, user=self.account(actor).login,
                          body=body, created_at=stamp, updated_at=stamp)
        repo.comments[comment.id] = comment
        self.emit(repo, "issue_comment",
                  lambda p: p.issue_comment(repo, pr, comment, "created", actor))
        return comment

    def comment(self, repo: Repo, comment_id: int) -> Comment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise not_found()
        return comment

    def edit_comment(self, repo: Repo, comment: Comment, body: str, actor: str) -> None:
        if actor.lower() != comment.user.lower():
            self.require(repo, actor, "triage")
        old = comment.body
        comment.body, comment.updated_at = body, now_iso()
        pr = self.issue_or_pull(repo, comment.issue_number)
        self.emit(repo, "issue_comment", lambda p: p.issue_comment(
            repo, pr, comment, "edited", actor, changes={"body": {"from": old}}))

    def delete_comment(self, repo: Repo, comment: Comment, actor: str) -> None:
        if actor.lower() != comment.user.lower():
            self.require(repo, actor, "triage")
        del repo.comments[comment.id]

    def label(self, repo: Repo, name: str) -> Label:
        label = repo.labels.get(name.lower())
        if label is None:
            label = Label(id=self.next_id(), name=name)
            repo.labels[name.lower()] = label
        return label

    def issue_or_pull(self, repo: Repo, number: int) -> Pull | Issue:
        """Issue number *number*: a pull request or a plain issue (one number sequence)."""
        issue = repo.issues.get(number)
        return issue if issue is not None else self.pull(repo, number)

    def _labeled(self, repo: Repo, pr: Pull | Issue, action: str, label: Label,
                 actor: str) -> None:
        if isinstance(pr, Issue):
            self.emit(repo, "issues", lambda p: p.issues(
                repo, pr, action, actor, extra={"label": p.render.label(repo, label)}))
            return
        self.emit(repo, "pull_request", lambda p: p.pull_request(
            repo, pr, action, actor, extra={"label": p.render.label(repo, label)}))

    def add_labels(self, repo: Repo, pr: Pull | Issue, names: list[str], actor: str,
                   replace: bool = False) -> None:
        self.require(repo, actor, "triage")
        if replace:
            pr.labels = []
        for name in names:
            label = self.label(repo, name)
            if label.name not in pr.labels:
                pr.labels.append(label.name)
                self._labeled(repo, pr, "labeled", label, actor)

    def remove_label(self, repo: Repo, pr: Pull | Issue, name: str, actor: str) -> None:
        self.require(repo, actor, "triage")
        for existing in pr.labels:
            if existing.lower() == name.lower():
                pr.labels.remove(existing)
                self._labeled(repo, pr, "unlabeled", self.label(repo, existing), actor)
                return
        raise ApiError(404, "Label does not exist")

