"""GitHub's JSON shapes for the simulator's records, with absolute URLs from its own base URL.

PyGithub follows ``url``, ``issue_url``, team ``url`` and friends, and refuses URLs whose host,
port or prefix differ from its ``base_url``; so every URL field is built here from
:attr:`Renderer.api` (the REST root) or :attr:`Renderer.web` (the simulator's review pages,
standing in for github.com). The shapes follow ``@octokit/openapi``; the contract tests check
every response against it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .errors import ApiError
from .gitstore import CommitInfo, FileChange, Person
from .model import (
    App,
    CheckRun,
    CheckSuite,
    Comment,
    CommitStatus,
    Hook,
    Installation,
    Issue,
    Label,
    Pull,
    Repo,
    Review,
    Team,
    perm_rank,
)
from .world import World, now_iso


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


APP_PERMISSIONS = {"checks": "write", "contents": "write", "issues": "write",
                   "metadata": "read", "pull_requests": "write", "statuses": "write",
                   "members": "read"}


class Renderer:
    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.api = base_url.rstrip("/")
        self.web = f"{self.api}/_sim"

    # -- people ---------------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        acc = self.world.account(login)
        u = f"{self.api}/users/{acc.login}"
        return {
            "login": acc.login, "id": acc.id, "node_id": node_id("User", acc.id),
            "avatar_url": f"{self.web}/avatars/{acc.id}", "gravatar_id": "",
            "url": u, "html_url": f"{self.web}/{acc.login}",
            "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}",
            "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{u}/subscriptions", "organizations_url": f"{u}/orgs",
            "repos_url": f"{u}/repos", "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events", "type": acc.type,
            "user_view_type": "public", "site_admin": acc.site_admin,
        }

    def user_full(self, login: str, private: bool = False) -> dict[str, Any]:
        acc = self.world.account(login)
        repos = [r for r in self.world.repos.values() if r.owner == acc.login]
        data = self.user(login) | {
            "name": acc.name, "company": None, "blog": "", "location": None,
            "email": acc.email, "hireable": None, "bio": None, "twitter_username": None,
            "public_repos": sum(1 for r in repos if not r.private), "public_gists": 0,
            "followers": 0, "following": 0, "created_at": acc.created_at,
            "updated_at": acc.created_at,
        }
        if private:
            data |= {"private_gists": 0, "total_private_repos": sum(r.private for r in repos),
                     "owned_private_repos": sum(r.private for r in repos), "disk_usage": 0,
                     "collaborators": 0, "two_factor_authentication": True}
        return data

    def git_person(self, person: Person) -> dict[str, Any]:
        return {"name": person.name, "email": person.email, "date": now_iso(person.timestamp)}

    def login_for_email(self, email: str) -> str | None:
        for acc in self.world.accounts.values():
            if acc.email == email and not acc.deleted:
                return acc.login
        return None

    def user_or_null(self, login: str) -> dict[str, Any] | None:
        """A comment's or review's ``user``: null once the account is deleted."""
        acc = self.world.accounts.get(login.lower())
        return None if acc is not None and acc.deleted else self.user(login)

    # -- organisations and teams ----------------------------------------------------------------

    def org(self, login: str) -> dict[str, Any]:
        org = self.world.org(login)
        acc = org.account
        u = f"{self.api}/orgs/{acc.login}"
        return {
            "login": acc.login, "id": acc.id, "node_id": node_id("Organization", acc.id),
            "url": u, "repos_url": f"{u}/repos", "events_url": f"{u}/events",
            "hooks_url": f"{u}/hooks", "issues_url": f"{u}/issues",
            "members_url": f"{u}/members{{/member}}",
            "public_members_url": f"{u}/public_members{{/member}}",
            "avatar_url": f"{self.web}/avatars/{acc.id}", "description": None,
        }

    def org_full(self, login: str) -> dict[str, Any]:
        org = self.world.org(login)
        repos = [r for r in self.world.repos.values() if r.owner == org.account.login]
        return self.org(login) | {
            # GitHub sends null for unset company/location, but the description types them
            # as plain strings; leaving them out satisfies both.
            "name": org.account.login, "blog": "", "twitter_username": None,
            "is_verified": False,
            "has_organization_projects": True, "has_repository_projects": True,
            "public_repos": sum(1 for r in repos if not r.private), "public_gists": 0,
            "followers": 0, "following": 0, "html_url": f"{self.web}/{org.account.login}",
            "type": "Organization", "created_at": org.account.created_at,
            "updated_at": org.account.created_at, "archived_at": None,
        }

    def team_url(self, team: Team) -> str:
        # GitHub's own form; PyGithub calls {url}/members and {url}/memberships/{login}.
        org = self.world.org(team.org)
        return f"{self.api}/organizations/{org.account.id}/team/{team.id}"

    def team(self, team: Team, permission: str = "pull") -> dict[str, Any]:
        u = self.team_url(team)
        return {
            "id": team.id, "node_id": node_id("Team", team.id), "url": u,
            "html_url": f"{self.web}/orgs/{team.org}/teams/{team.slug}", "name": team.name,
            "slug": team.slug, "description": team.description, "privacy": "closed",
            "notification_setting": "notifications_enabled", "permission": permission,
            "members_url": f"{u}/members{{/member}}", "repositories_url": f"{u}/repos",
            "type": "organization", "parent": None,
        }

    def team_full(self, team: Team) -> dict[str, Any]:
        repos = [r for r in self.world.repos.values()
                 if f"{team.org}/{team.slug}".lower() in r.team_permissions]
        return self.team(team) | {
            "members_count": len(team.members), "repos_count": len(repos),
            "created_at": team.created_at, "updated_at": team.created_at,
            "organization": self.org_full(team.org),
        }

    def team_membership(self, team: Team, login: str) -> dict[str, Any]:
        active = login in team.members
        return {"url": f"{self.team_url(team)}/memberships/{login}",
                "role": team.members[login] if active else team.pending[login],
                "state": "active" if active else "pending"}

    # -- repositories ---------------------------------------------------------------------------

    def repo(self, repo: Repo, viewer: str | None = None, full: bool = True) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        data: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": repo.private,
            "owner": self.user(repo.owner), "html_url": f"{self.web}/{repo.full_name}",
            "description": repo.description, "fork": repo.parent is not None, "url": u,
            "archive_url": f"{u}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{u}/assignees{{/user}}",
            "blobs_url": f"{u}/git/blobs{{/sha}}", "branches_url": f"{u}/branches{{/branch}}",
            "collaborators_url": f"{u}/collaborators{{/collaborator}}",
            "comments_url": f"{u}/comments{{/number}}", "commits_url": f"{u}/commits{{/sha}}",
            "compare_url": f"{u}/compare/{{base}}...{{head}}",
            "contents_url": f"{u}/contents/{{+path}}", "contributors_url": f"{u}/contributors",
            "deployments_url": f"{u}/deployments", "downloads_url": f"{u}/downloads",
            "events_url": f"{u}/events", "forks_url": f"{u}/forks",
            "git_commits_url": f"{u}/git/commits{{/sha}}",
            "git_refs_url": f"{u}/git/refs{{/sha}}", "git_tags_url": f"{u}/git/tags{{/sha}}",
            "git_url": f"{self.git_base()}/{repo.full_name}.git",
            "issue_comment_url": f"{u}/issues/comments{{/number}}",
            "issue_events_url": f"{u}/issues/events{{/number}}",
            "issues_url": f"{u}/issues{{/number}}", "keys_url": f"{u}/keys{{/key_id}}",
            "labels_url": f"{u}/labels{{/name}}", "languages_url": f"{u}/languages",
            "merges_url": f"{u}/merges",
            "milestones_url": f"{u}/milestones{{/number}}",
            "notifications_url": f"{u}/notifications{{?since,all,participating}}",
            "pulls_url": f"{u}/pulls{{/number}}", "releases_url": f"{u}/releases{{/id}}",
            "ssh_url": f"git@{self.git_host()}:{repo.full_name}.git",
            "stargazers_url": f"{u}/stargazers", "statuses_url": f"{u}/statuses/{{sha}}",
            "subscribers_url": f"{u}/subscribers", "subscription_url": f"{u}/subscription",
            "tags_url": f"{u}/tags", "teams_url": f"{u}/teams",
            "trees_url": f"{u}/git/trees{{/sha}}",
            "clone_url": f"{self.git_base()}/{repo.full_name}.git",
            "mirror_url": None, "hooks_url": f"{u}/hooks",
            "svn_url": f"{self.web}/{repo.full_name}", "homepage": None, "language": None,
            "forks_count": len(self.world.forks_of(repo)), "stargazers_count": 0,
            "watchers_count": 0, "size": 1,
            "default_branch": repo.default_branch,
            "open_issues_count": sum(1 for p in repo.pulls.values() if p.state == "open"),
            "is_template": False, "topics": [], "has_issues": True, "has_projects": True,
            "has_wiki": True, "has_pages": False, "has_downloads": True,
            "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": repo.pushed_at, "created_at": repo.created_at,
            "updated_at": repo.pushed_at, "allow_forking": True,
            "web_commit_signoff_required": False, "license": None,
            "forks": len(self.world.forks_of(repo)), "open_issues": 0, "watchers": 0,
        }
        data["open_issues"] = data["open_issues_count"]
        if viewer is not None:
            perm = self.world.permission(repo, viewer)
            data["permissions"] = {
                "admin": perm == "admin", "maintain": perm_rank(perm) >= perm_rank("maintain"),
                "push": perm_rank(perm) >= perm_rank("write"),
                "triage": perm_rank(perm) >= perm_rank("triage"),
                "pull": perm_rank(perm) >= perm_rank("read"),
            }
        if full:
            data |= {
                "network_count": 0, "subscribers_count": 0, "allow_squash_merge": True,
                "allow_merge_commit": True, "allow_rebase_merge": False,
                "allow_auto_merge": False, "delete_branch_on_merge": False,
                "allow_update_branch": False, "use_squash_pr_title_as_default": False,
                "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE", "merge_commit_message": "PR_TITLE",
            }
            org = self.world.orgs.get(repo.owner.lower())
            if org is not None:
                data["organization"] = self.user(repo.owner)
            parent = self.world.repos.get((repo.parent or "").lower())
            if parent is not None:  # a fork names its parent and the network's root
                source = parent
                while source.parent and source.parent.lower() in self.world.repos:
                    source = self.world.repos[source.parent.lower()]
                data["parent"] = self.repo(parent, full=False)
                data["source"] = self.repo(source, full=False)
        return data

    def git_base(self) -> str:
        return f"{self.web}/git"

    def git_host(self) -> str:
        return self.api.split("://", 1)[-1].split("/", 1)[0]

    # -- git objects ----------------------------------------------------------------------------

    def git_ref(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        otype = repo.git.object_type(sha) or "commit"
        return {
            "ref": ref, "node_id": node_id("Ref", hashlib.sha1(ref.encode()).hexdigest()[:10]),  # noqa: S324
            "url": f"{self.api}/repos/{repo.full_name}/git/{ref}",
            "object": {"sha": sha, "type": otype,
                       "url": f"{self.api}/repos/{repo.full_name}/git/{otype}s/{sha}"},
        }

    def git_commit(self, repo: Repo, info: CommitInfo) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/git/commits/{info.sha}"
        return {
            "sha": info.sha, "node_id": node_id("Commit", info.sha[:12]), "url": u,
            "html_url": f"{self.web}/{repo.full_name}/commit/{info.sha}",
            "author": self.git_person(info.author),
            "committer": self.git_person(info.committer),
            "message": info.message.rstrip("\n"),
            "tree": {"sha": info.tree,
                     "url": f"{self.api}/repos/{repo.full_name}/git/trees/{info.tree}"},
            "parents": [{"sha": p, "url": f"{self.api}/repos/{repo.full_name}/git/commits/{p}",
                         "html_url": f"{self.web}/{repo.full_name}/commit/{p}"}
                        for p in info.parents],
            "verification": self.verification(repo, info),
        }

    def verification(self, repo: Repo, info: CommitInfo) -> dict[str, Any]:
        """GitHub's signature verdict: ``valid`` for the commits GitHub made and signed itself
        (API commits without a custom committer), ``unsigned`` for everything pushed."""
        if info.sha not in repo.signed:
            return {"verified": False, "reason": "unsigned", "signature": None,
                    "payload": None, "verified_at": None}
        signature = ("-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJsimulated"
                     f"{info.sha[:16]}\n-----END PGP SIGNATURE-----\n")
        return {"verified": True, "reason": "valid", "signature": signature,
                "payload": repo.git.raw_commit(info.sha),
                "verified_at": now_iso(info.committer.timestamp)}

    def commit(self, repo: Repo, sha: str, with_files: bool = True) -> dict[str, Any]:
        info = repo.git.commit_info(sha)
        u = f"{self.api}/repos/{repo.full_name}/commits/{sha}"
        git = self.git_commit(repo, info)
        inner = {k: git[k] for k in ("author", "committer", "message", "tree", "url",
                                     "verification")}
        inner["comment_count"] = 0
        author = self.login_for_email(info.author.email)
        committer = self.login_for_email(info.committer.email)
        data: dict[str, Any] = {
            "sha": sha, "node_id": node_id("Commit", sha[:12]), "url": u,
            "html_url": f"{self.web}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{u}/comments", "commit": inner,
            # An e-mail that maps to no account: GitHub has sent both null and {} here (the
            # description allows either); the simulator sends {}, the harder case for PyGithub
            # (a NamedUser without a URL: reading `.login` raises IncompletableObject).
            "author": self.user(author) if author else {},
            "committer": self.user(committer) if committer else {},
            "parents": [{"sha": p, "url": f"{self.api}/repos/{repo.full_name}/commits/{p}",
                         "html_url": f"{self.web}/{repo.full_name}/commit/{p}"}
                        for p in info.parents],
        }
        if with_files:
            base = info.parents[0] if info.parents else None
            changes = repo.git.diff(base, sha) if base else repo.git.diff(
                "4b825dc642cb6eb9a060e54bf8d69288fbee4904", sha)
            files = [self.diff_entry(repo, sha, c) for c in changes]
            adds = sum(c.additions for c in changes)
            dels = sum(c.deletions for c in changes)
            data["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            data["files"] = files
        return data

    def diff_entry(self, repo: Repo, ref: str, change: FileChange) -> dict[str, Any]:
        sha = change.new_sha or change.old_sha
        path = change.path
        entry: dict[str, Any] = {
            "sha": sha, "filename": path, "status": change.status,
            "additions": change.additions, "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
            "raw_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}",
        }
        if change.patch is not None:
            entry["patch"] = change.patch
        if change.previous_path:
            entry["previous_filename"] = change.previous_path
        return entry

    def tree(self, repo: Repo, sha: str, recursive: bool) -> dict[str, Any]:
        entries = repo.git.ls_tree(sha, recursive=recursive)
        limit = self.world.tree_entries_limit
        truncated = recursive and len(entries) > limit
        if truncated:  # GitHub cuts a recursive listing and says so, nothing more
            entries = entries[:limit]
        u = f"{self.api}/repos/{repo.full_name}/git"
        return {
            "sha": sha, "url": f"{u}/trees/{sha}", "truncated": truncated,
            "tree": [
                {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha,
                 **({"size": e.size} if e.size is not None else {}),
                 "url": f"{u}/{'blobs' if e.type == 'blob' else 'trees'}/{e.sha}"}
                for e in entries
            ],
        }

    def content(self, repo: Repo, path: str, sha: str, size: int, ref: str,
                data: bytes | None = None, kind: str = "file") -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
        kind_path = "blobs" if kind == "file" else "trees"
        git_url = f"{self.api}/repos/{repo.full_name}/git/{kind_path}/{sha}"
        html = f"{self.web}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        item: dict[str, Any] = {
            "type": kind, "size": size if kind == "file" else 0, "name": path.rsplit("/", 1)[-1],
            "path": path, "sha": sha, "url": u, "git_url": git_url, "html_url": html,
            "download_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}"
            if kind == "file" else None,
            "_links": {"self": u, "git": git_url, "html": html},
        }
        if data is not None and len(data) > self.world.contents_size_limit:
            # 1–100 MB: GitHub sends the metadata with an empty content and encoding "none"
            # (read the blob API instead); PyGithub's decoded_content then asserts.
            item |= {"content": "", "encoding": "none"}
        elif data is not None:
            encoded = base64.encodebytes(data).decode()
            item |= {"content": encoded, "encoding": "base64"}
        return item

    def branch(self, repo: Repo, name: str, sha: str) -> dict[str, Any]:
        rules = repo.protection.get(name)
        u = f"{self.api}/repos/{repo.full_name}/branches/{name}"
        protection: dict[str, Any] = {
            "enabled": rules is not None,
            "required_status_checks": {"enforcement_level": "off", "contexts": [],
                                       "checks": []},
        }
        return {
            "name": name, "commit": self.commit(repo, sha, with_files=False),
            "_links": {"self": u, "html": f"{self.web}/{repo.full_name}/tree/{name}"},
            "protected": rules is not None, "protection": protection,
            "protection_url": f"{u}/protection",
        }

    def protection(self, repo: Repo, branch: str) -> dict[str, Any]:
        rules = repo.protection[branch]
        u = f"{self.api}/repos/{repo.full_name}/branches/{branch}/protection"
        checks = [{"context": c, "app_id": a} for c, a in rules.required_checks]
        return {
            "url": u,
            "required_status_checks": {
                "url": f"{u}/required_status_checks", "strict": False,
                "contexts": [c for c, _ in rules.required_checks],
                "contexts_url": f"{u}/required_status_checks/contexts", "checks": checks},
            "required_pull_request_reviews": {
                "url": f"{u}/required_pull_request_reviews",
                "dismiss_stale_reviews": rules.dismiss_stale_reviews,
                "require_code_owner_reviews": rules.require_code_owner_reviews,
                "required_approving_review_count": rules.required_approvals,
                "require_last_push_approval": False},
            "enforce_admins": {"url": f"{u}/enforce_admins", "enabled": rules.enforce_admins},
            "required_signatures": {"url": f"{u}/required_signatures", "enabled": False},
            "required_linear_history": {"enabled": False},
            "allow_force_pushes": {"enabled": False}, "allow_deletions": {"enabled": False},
            "block_creations": {"enabled": False},
            "required_conversation_resolution": {"enabled": False},
            "lock_branch": {"enabled": False}, "allow_fork_syncing": {"enabled": False},
        }

    # -- pull requests --------------------------------------------------------------------------

    def author_association(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        org = self.world.orgs.get(repo.owner.lower())
        if org is not None and login in org.members:
            return "MEMBER"
        if login in repo.collaborators:
            return "COLLABORATOR"
        return "NONE"

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {"id": label.id, "node_id": node_id("Label", label.id),
                "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
                # "" rather than null: the pull-request-simple shape requires a string.
                "name": label.name, "description": label.description or "",
                "color": label.color, "default": False}

    def pull(self, repo: Repo, pr: Pull, full: bool = True) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}"
        issue = f"{self.api}/repos/{repo.full_name}/issues/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        merge_sha = pr.merge_commit_sha if pr.merged else pr.test_merge_sha
        data: dict[str, Any] = {
            "url": u, "id": pr.id, "node_id": node_id("PullRequest", pr.id),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": issue, "commits_url": f"{u}/commits",
            "review_comments_url": f"{u}/comments",
            "review_comment_url": f"{self.api}/repos/{repo.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.api}/repos/{repo.full_name}/statuses/{pr.head_sha}",
            "number": pr.number, "state": pr.state, "locked": False, "title": pr.title,
            "user": self.user(pr.user), "body": pr.body,
            "labels": [self.label(repo, self.world.label(repo, n)) for n in pr.labels],
            "milestone": None, "active_lock_reason": None,
            "created_at": pr.created_at, "updated_at": pr.updated_at,
            "closed_at": pr.closed_at, "merged_at": pr.merged_at,
            "merge_commit_sha": merge_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [self.user(u_) for u_ in pr.requested_reviewers],
            "requested_teams": [self.team(self.world.team(*t.split("/", 1)))
                                for t in pr.requested_teams],
            "head": self.pull_end(self.head_repo(repo, pr), pr.head_ref, pr.head_sha,
                                  pr.user),
            "base": self.pull_end(repo, pr.base_ref, pr.base_sha, repo.owner),
            "_links": {
                "self": {"href": u}, "html": {"href": html}, "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{u}/comments"},
                "review_comment": {"href": f"{self.api}/repos/{repo.full_name}/pulls/comments"
                                           "{/number}"},
                "commits": {"href": f"{u}/commits"},
                "statuses": {"href": data_statuses(self.api, repo, pr)},
            },
            "author_association": self.author_association(repo, pr.user),
            "auto_merge": None, "draft": pr.draft,
        }
        if full:
            base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
            changes = repo.git.diff(base, pr.head_sha)
            mergeable = self.world.mergeable(pr)
            data |= {
                "merged": pr.merged, "mergeable": mergeable,
                "rebaseable": False if mergeable is not None else None,
                "mergeable_state": self.mergeable_state(repo, pr, mergeable),
                "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
                "comments": sum(1 for c in repo.comments.values()
                                if c.issue_number == pr.number),
                "review_comments": 0, "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": len(repo.git.commits_between(base, pr.head_sha)),
                "additions": sum(c.additions for c in changes),
                "deletions": sum(c.deletions for c in changes),
                "changed_files": len(changes),
            }
        return data

    def mergeable_state(self, repo: Repo, pr: Pull, mergeable: bool | None) -> str:
        """GitHub's summary for a non-admin: dirty, draft, blocked (protection), clean."""
        if mergeable is None:
            return "unknown"
        if not mergeable:
            return "dirty"
        if pr.draft:
            return "draft"
        try:
            self.world.check_protection(repo, pr, None)
        except ApiError:
            return "blocked"
        return "clean"

    def head_repo(self, repo: Repo, pr: Pull) -> Repo:
        """The repository a PR's head branch lives in: a fork, or *repo* itself."""
        if pr.head_repo is None:
            return repo
        return self.world.repos.get(pr.head_repo.lower(), repo)

    def pull_end(self, repo: Repo, ref: str, sha: str, login: str) -> dict[str, Any]:
        return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha,
                "user": self.user(repo.owner), "repo": self.repo(repo, full=False)}

    def review(self, repo: Repo, pr: Pull, review: Review) -> dict[str, Any]:
        pr_url = f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{review.id}"
        data: dict[str, Any] = {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id),
            "user": self.user_or_null(review.user), "body": review.body,
            "state": review.state,
            "html_url": html, "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": review.commit_id,
            "author_association": self.author_association(repo, review.user),
        }
        if review.state != "PENDING":
            data["submitted_at"] = review.submitted_at
        return data

    def issue(self, repo: Repo, pr: Pull | Issue) -> dict[str, Any]:
        if isinstance(pr, Issue):
            return self.plain_issue(repo, pr)
        u = f"{self.api}/repos/{repo.full_name}/issues/{pr.number}"
        pull = f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        return {
            "id": pr.id, "node_id": node_id("Issue", pr.id), "url": u,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{u}/labels{{/name}}", "comments_url": f"{u}/comments",
            "events_url": f"{u}/events", "html_url": html, "number": pr.number,
            "state": pr.state, "state_reason": None, "title": pr.title, "body": pr.body,
            "user": self.user(pr.user),
            "labels": [self.label(repo, self.world.label(repo, n)) for n in pr.labels],
            "assignee": None, "assignees": [], "milestone": None, "locked": False,
            "active_lock_reason": None,
            "comments": sum(1 for c in repo.comments.values() if c.issue_number == pr.number),
            "pull_request": {"url": pull, "html_url": html, "diff_url": f"{html}.diff",
                             "patch_url": f"{html}.patch", "merged_at": pr.merged_at},
            "closed_at": pr.closed_at, "created_at": pr.created_at,
            "updated_at": pr.updated_at, "draft": pr.draft,
            "author_association": self.author_association(repo, pr.user),
            "reactions": self.reactions(f"{u}/reactions"),
            "timeline_url": f"{u}/timeline", "performed_via_github_app": None,
        }

    def plain_issue(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        """An issue that is not a pull request: no ``pull_request`` key, real assignees."""
        u = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        assignees = [self.user(login) for login in issue.assignees]
        return {
            "id": issue.id, "node_id": node_id("Issue", issue.id), "url": u,
            "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{u}/labels{{/name}}", "comments_url": f"{u}/comments",
            "events_url": f"{u}/events",
            "html_url": f"{self.web}/{repo.full_name}/issues/{issue.number}",
            "number": issue.number, "state": issue.state, "state_reason": issue.state_reason,
            "title": issue.title, "body": issue.body, "user": self.user(issue.user),
            "labels": [self.label(repo, self.world.label(repo, n)) for n in issue.labels],
            "assignee": assignees[0] if assignees else None, "assignees": assignees,
            "milestone": None, "locked": False, "active_lock_reason": None,
            "comments": sum(1 for c in repo.comments.values()
                            if c.issue_number == issue.number),
            "closed_at": issue.closed_at, "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "author_association": self.author_association(repo, issue.user),
            "reactions": self.reactions(f"{u}/reactions"),
            "timeline_url": f"{u}/timeline", "performed_via_github_app": None,
        }

    @staticmethod
    def reactions(url: str) -> dict[str, Any]:
        return {"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}

    def comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/issues/comments/{comment.id}"
        return {
            "id": comment.id, "node_id": node_id("IssueComment", comment.id), "url": u,
            "html_url": f"{self.web}/{repo.full_name}/"
                        f"{'issues' if comment.issue_number in repo.issues else 'pull'}/"
                        f"{comment.issue_number}#issuecomment-{comment.id}",
            "body": comment.body, "user": self.user_or_null(comment.user),
            "created_at": comment.created_at, "updated_at": comment.updated_at,
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{comment.issue_number}",
            "author_association": self.author_association(repo, comment.user),
            "performed_via_github_app": None, "reactions": self.reactions(f"{u}/reactions"),
        }

    # -- checks and statuses --------------------------------------------------------------------

    def app(self, app: App) -> dict[str, Any]:
        return {
            "id": app.id, "slug": app.slug, "node_id": node_id("Integration", app.id),
            "client_id": f"Iv1.{app.id:016x}", "owner": self.user(app.owner), "name": app.name,
            "description": "", "external_url": f"{self.web}/apps/{app.slug}",
            "html_url": f"{self.web}/apps/{app.slug}", "created_at": app.created_at,
            "updated_at": app.created_at, "permissions": dict(APP_PERMISSIONS),
            "events": list(app.events),
        }

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/check-runs/{run.id}"
        output = {"title": run.output.get("title"), "summary": run.output.get("summary"),
                  "text": run.output.get("text"),
                  "annotations_count": len(run.output.get("annotations") or []),
                  "annotations_url": f"{u}/annotations"}
        return {
            "id": run.id, "node_id": node_id("CheckRun", run.id), "head_sha": run.head_sha,
            # Unset, GitHub reports external_id "" and details_url = html_url.
            "external_id": run.external_id or "", "url": u,
            "html_url": f"{self.web}/{repo.full_name}/runs/{run.id}",
            "details_url": run.details_url or f"{self.web}/{repo.full_name}/runs/{run.id}",
            "status": run.status, "conclusion": run.conclusion,
            "started_at": run.started_at, "completed_at": run.completed_at, "output": output,
            "name": run.name, "check_suite": {"id": run.suite_id},
            "app": self.app(self.world.apps[run.app_id]),
            # GitHub lists only same-repository PRs here: a fork PR's list is empty.
            "pull_requests": [self.pull_minimal(repo, pr) for pr in repo.pulls.values()
                              if pr.head_sha == run.head_sha and pr.state == "open"
                              and pr.head_repo is None],
        }

    def check_suite(self, repo: Repo, suite: CheckSuite) -> dict[str, Any]:
        runs = [r for r in repo.check_runs.values() if r.suite_id == suite.id]
        done = bool(runs) and all(r.status == "completed" for r in runs)
        conclusions = {r.conclusion for r in runs}
        conclusion = None
        if done:  # the worst conclusion wins
            conclusion = next((c for c in ("failure", "cancelled", "timed_out",
                                           "action_required", "neutral", "skipped", "success")
                               if c in conclusions), "success")
        status = "completed" if done else ("in_progress" if runs else "queued")
        u = f"{self.api}/repos/{repo.full_name}/check-suites/{suite.id}"
        info = repo.git.commit_info(suite.head_sha)
        return {
            "id": suite.id, "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch, "head_sha": suite.head_sha,
            "status": status, "conclusion": conclusion, "url": u,
            "before": suite.before, "after": suite.head_sha,
            "pull_requests": [self.pull_minimal(repo, p) for p in repo.pulls.values()
                              if p.head_sha == suite.head_sha and p.state == "open"
                              and p.head_repo is None],
            "app": self.app(self.world.apps[suite.app_id]),
            "repository": self.repo(repo, full=False),
            "created_at": suite.created_at, "updated_at": suite.updated_at,
            "head_commit": {
                "id": suite.head_sha, "tree_id": info.tree,
                "message": info.message.rstrip("\n"),
                "timestamp": now_iso(info.committer.timestamp),
                "author": {"name": info.author.name, "email": info.author.email},
                "committer": {"name": info.committer.name, "email": info.committer.email},
            },
            "latest_check_runs_count": len(runs), "check_runs_url": f"{u}/check-runs",
            "rerequestable": True, "runs_rerequestable": True,
        }

    def pull_minimal(self, repo: Repo, pr: Pull) -> dict[str, Any]:
        def end(ref: str, sha: str) -> dict[str, Any]:
            return {"ref": ref, "sha": sha,
                    "repo": {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}",
                             "name": repo.name}}
        return {"id": pr.id, "number": pr.number,
                "url": f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}",
                "head": end(pr.head_ref, pr.head_sha), "base": end(pr.base_ref, pr.base_sha)}

    def status(self, repo: Repo, status: CommitStatus) -> dict[str, Any]:
        return {
            "url": f"{self.api}/repos/{repo.full_name}/statuses/{status.sha}",
            "avatar_url": None, "id": status.id, "node_id": node_id("StatusContext", status.id),
            "state": status.state, "description": status.description,
            "target_url": status.target_url, "context": status.context,
            "created_at": status.created_at, "updated_at": status.created_at,
            "creator": self.user(status.creator),
        }

    # -- apps, hooks ----------------------------------------------------------------------------

    def installation(self, inst: Installation) -> dict[str, Any]:
        app = self.world.apps[inst.app_id]
        acc = self.world.account(inst.account)
        return {
            "id": inst.id, "account": self.user(acc.login),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{inst.id}",
            "app_id": app.id, "app_slug": app.slug, "client_id": f"Iv1.{app.id:016x}",
            "target_id": acc.id, "target_type": acc.type,
            "permissions": dict(APP_PERMISSIONS), "events": list(app.events),
            "created_at": inst.created_at, "updated_at": inst.created_at,
            "single_file_name": None, "has_multiple_single_files": False,
            "single_file_paths": [], "suspended_by": None, "suspended_at": None,
        }

    def hook(self, repo: Repo, hook: Hook) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}/hooks/{hook.id}"
        return {
            "type": "Repository", "id": hook.id, "name": "web", "active": hook.active,
            "events": list(hook.events),
            "config": {"content_type": "json", "insecure_ssl": "0", "url": hook.url,
                       **({"secret": "********"} if hook.secret else {})},
            "updated_at": hook.created_at, "created_at": hook.created_at, "url": u,
            "test_url": f"{u}/test", "ping_url": f"{u}/pings",
            "deliveries_url": f"{u}/deliveries",
            "last_response": {"code": hook.last_status, "status": "active" if
                              hook.last_status else "unused", "message": None},
        }


def data_statuses(api: str, repo: Repo, pr: Pull) -> str:
    return f"{api}/repos/{repo.full_name}/statuses/{pr.head_sha}"
