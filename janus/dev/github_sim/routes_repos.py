"""REST handlers: users, organisations, teams, repositories, git data, contents, commits."""

from __future__ import annotations

import base64
import binascii
import time

from .errors import ApiError, not_found, validation_failed
from .gitstore import EMPTY_TREE, Person
from .model import now_iso, perm_rank
from .rest import Ctx, Reply, paginate, route

# -- users, orgs, teams --------------------------------------------------------------------------


@route("GET", "/user")
def get_authenticated_user(ctx: Ctx) -> Reply:
    if ctx.caller.installation_id is not None:  # installation tokens have no "user"
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, ctx.render.user_full(ctx.login, private=True))


@route("GET", "/users/{username}")
def get_user(ctx: Ctx) -> Reply:
    acc = ctx.world.account(ctx.params["username"])
    if acc.type == "Organization":
        return Reply(200, ctx.render.user_full(acc.login) | {"type": "Organization"})
    return Reply(200, ctx.render.user_full(acc.login))


@route("GET", "/orgs/{org}")
def get_org(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.org_full(ctx.params["org"]))


@route("GET", "/orgs/{org}/teams")
def list_teams(ctx: Ctx) -> Reply:
    org = ctx.world.org(ctx.params["org"])
    _require_member(ctx, org.account.login)
    return paginate(ctx, [ctx.render.team(t) for t in org.teams.values()])


@route("GET", "/orgs/{org}/teams/{team_slug}")
def get_team(ctx: Ctx) -> Reply:
    _require_member(ctx, ctx.params["org"])
    return Reply(200, ctx.render.team_full(ctx.world.team(ctx.params["org"],
                                                          ctx.params["team_slug"])))


def _require_member(ctx: Ctx, org_login: str) -> None:
    # Teams are visible to organisation members (and to installed Apps, which read members).
    org = ctx.world.org(org_login)
    login = ctx.login
    if login in org.members:
        return
    acc = ctx.world.account(login)
    if acc.type == "Bot" and any(i.account.lower() == org_login.lower()
                                 for i in ctx.world.installations.values()
                                 if ctx.world.apps[i.app_id].bot_login == acc.login):
        return
    raise not_found()


def _team_from(ctx: Ctx):
    if "team_slug" in ctx.params:
        _require_member(ctx, ctx.params["org"])
        return ctx.world.team(ctx.params["org"], ctx.params["team_slug"])
    team = ctx.world.team_by_id(ctx.int_param("team_id"))
    if "org_id" in ctx.params and ctx.world.org(team.org).account.id != ctx.int_param("org_id"):
        raise not_found()
    _require_member(ctx, team.org)
    return team


def _members(ctx: Ctx) -> Reply:
    team = _team_from(ctx)
    role = ctx.query.get("role", "all")
    logins = [m for m, r in team.members.items() if role == "all" or r == role]
    return paginate(ctx, [ctx.render.user(m) for m in logins])


def _is_member(ctx: Ctx) -> Reply:
    team = _team_from(ctx)
    username = ctx.params["username"]
    if any(m.lower() == username.lower() for m in team.members):
        return Reply(204)
    return Reply(404)  # documented (and sent) without a body


def _membership(ctx: Ctx) -> Reply:
    team = _team_from(ctx)
    for login in [*team.members, *team.pending]:
        if login.lower() == ctx.params["username"].lower():
            return Reply(200, ctx.render.team_membership(team, login))
    raise not_found()


# Three spellings of one team: the documented slug path, the legacy id path, and the
# /organizations/{org_id}/team/{team_id} form GitHub puts in a team's `url`.
for _prefix in ("/orgs/{org}/teams/{team_slug}", "/teams/{team_id}",
                "/organizations/{org_id}/team/{team_id}"):
    route("GET", f"{_prefix}/members")(_members)
    route("GET", f"{_prefix}/members/{{username}}")(_is_member)
    route("GET", f"{_prefix}/memberships/{{username}}")(_membership)


@route("GET", "/orgs/{org}/members/{username}")
def org_member(ctx: Ctx) -> Reply:
    org = ctx.world.org(ctx.params["org"])
    if ctx.params["username"] in org.members:
        return Reply(204)
    return Reply(404)


# -- repositories --------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    return Reply(200, ctx.render.repo(repo, viewer=ctx.caller.login))


@route("PATCH", "/repos/{owner}/{repo}")
def edit_repo(ctx: Ctx) -> Reply:
    """Only what the simulator models: ``name`` (a rename) and ``description``."""
    repo = ctx.repo("admin")
    body = ctx.json()
    if "description" in body:
        repo.description = body["description"]
    if body.get("name") and body["name"] != repo.name:
        repo = ctx.world.rename_repo(repo.full_name, str(body["name"]), ctx.login)
    return Reply(200, ctx.render.repo(repo, viewer=ctx.caller.login))


@route("POST", "/repos/{owner}/{repo}/forks")
def create_fork(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    if body.get("organization"):
        raise ApiError(422, "Validation Failed", [{
            "resource": "Fork", "code": "custom", "field": "organization",
            "message": "The simulator forks into the caller's own account only"}])
    fork = ctx.world.fork_repo(repo.full_name, ctx.login, body.get("name") or None)
    # 202: GitHub creates the fork asynchronously; the simulator's is ready at once.
    return Reply(202, ctx.render.repo(fork, viewer=ctx.caller.login))


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def collaborator_permission(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    acc = ctx.world.account(ctx.params["username"])
    perm = ctx.world.permission(repo, acc.login)
    legacy = {"maintain": "write", "triage": "read"}.get(perm, perm)
    user = ctx.render.user(acc.login) | {
        "permissions": {"admin": perm == "admin",
                        "maintain": perm_rank(perm) >= perm_rank("maintain"),
                        "push": perm_rank(perm) >= perm_rank("write"),
                        "triage": perm_rank(perm) >= perm_rank("triage"),
                        "pull": perm_rank(perm) >= perm_rank("read")},
        "role_name": perm,
    }
    return Reply(200, {"permission": legacy, "role_name": perm, "user": user})


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}")
def is_collaborator(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    if perm_rank(ctx.world.permission(repo, ctx.params["username"])) >= perm_rank("triage"):
        return Reply(204)
    return Reply(404)


# -- refs and branches ---------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    name = f"refs/{ctx.params['ref']}"
    sha = repo.git.ref(name)
    if sha is None:
        raise not_found()
    return Reply(200, ctx.render.git_ref(repo, name, sha))


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}")
def matching_refs(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    prefix = f"refs/{ctx.params['ref']}"
    refs = [(n, s) for n, s in repo.git.refs().items()
            if n.startswith(prefix) and not n.startswith("refs/pull/")]
    return Reply(200, [ctx.render.git_ref(repo, n, s) for n, s in sorted(refs)])


@route("GET", "/repos/{owner}/{repo}/git/refs")
def list_refs(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    refs = [(n, s) for n, s in repo.git.refs().items() if not n.startswith("refs/pull/")]
    return paginate(ctx, [ctx.render.git_ref(repo, n, s) for n, s in sorted(refs)])


@route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str) or not isinstance(sha, str):
        raise validation_failed("Reference", "missing_field", "ref" if not ref else "sha")
    ctx.world.create_ref(repo, ref, sha, ctx.login)
    return Reply(201, ctx.render.git_ref(repo, ref, sha))


@route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")
def update_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    name = f"refs/{ctx.params['ref']}"
    ctx.world.update_ref(repo, name, str(body.get("sha")), bool(body.get("force")), ctx.login)
    return Reply(200, ctx.render.git_ref(repo, name, str(body.get("sha"))))


@route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}")
def delete_ref(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ctx.world.delete_ref(repo, f"refs/{ctx.params['ref']}", ctx.login)
    return Reply(204)


@route("GET", "/repos/{owner}/{repo}/branches")
def list_branches(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    items = [
        {"name": n.removeprefix("refs/heads/"),
         "commit": {"sha": s, "url": f"{ctx.render.api}/repos/{repo.full_name}/commits/{s}"},
         "protected": n.removeprefix("refs/heads/") in repo.protection}
        for n, s in sorted(repo.git.refs("refs/heads/").items())
    ]
    return paginate(ctx, items)


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    name = ctx.params["branch"]
    sha = repo.git.ref(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    return Reply(200, ctx.render.branch(repo, name, sha))


@route("GET", "/repos/{owner}/{repo}/branches/{branch}/protection")
def get_protection(ctx: Ctx) -> Reply:
    repo = ctx.repo("admin")
    if ctx.params["branch"] not in repo.protection:
        raise ApiError(404, "Branch not protected")
    return Reply(200, ctx.render.protection(repo, ctx.params["branch"]))


@route("PUT", "/repos/{owner}/{repo}/branches/{branch}/protection")
def put_protection(ctx: Ctx) -> Reply:
    """Classic protection as PyGithub's ``Branch.edit_protection`` sends it."""
    repo = ctx.repo("admin")
    branch = ctx.params["branch"]
    if repo.git.ref(f"refs/heads/{branch}") is None:
        raise ApiError(404, "Branch not found")
    body = ctx.json()
    reviews = body.get("required_pull_request_reviews") or {}
    status = body.get("required_status_checks") or {}
    checks = [(c["context"], c.get("app_id")) for c in status.get("checks") or []]
    checks += [(c, None) for c in status.get("contexts") or []
               if c not in {name for name, _ in checks}]
    ctx.world.set_protection(
        repo.full_name, branch,
        required_approvals=int(reviews.get("required_approving_review_count") or 0),
        require_code_owner_reviews=bool(reviews.get("require_code_owner_reviews")),
        dismiss_stale_reviews=bool(reviews.get("dismiss_stale_reviews")),
        enforce_admins=bool(body.get("enforce_admins")), required_checks=checks)
    return Reply(200, ctx.render.protection(repo, branch))


# -- git objects ---------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.params["tree_sha"]
    otype = repo.git.object_type(sha)
    if otype is None:
        commit = repo.git.resolve(sha)
        if commit is None:
            raise not_found()
        sha, otype = commit, "commit"
    tree = repo.git.tree_of(sha) if otype == "commit" else sha
    if repo.git.object_type(tree) != "tree":
        raise not_found()
    recursive = ctx.query.get("recursive") not in (None, "", "0", "false")
    return Reply(200, ctx.render.tree(repo, tree, recursive))


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.params["file_sha"]
    if repo.git.object_type(sha) != "blob":
        raise not_found()
    data = repo.git.read_blob(sha)
    return Reply(200, {
        "sha": sha, "node_id": f"B_{sha[:12]}", "size": len(data),
        "url": f"{ctx.render.api}/repos/{repo.full_name}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(), "encoding": "base64",
    })


@route("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_git_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.params["commit_sha"]
    if repo.git.object_type(sha) != "commit":
        raise not_found()
    return Reply(200, ctx.render.git_commit(repo, repo.git.commit_info(sha)))


# GitHub's "Get a commit": "If there are more than 300 files in the commit diff ... the
# response will include pagination link headers for the remaining files, up to a limit of
# 3000 files. Each page contains the static commit information, and the only changes are to
# the file listing." Past 3,000 the files are silently left out (`stats` stays whole).
COMMIT_FILES_PAGE = 300
COMMIT_FILES_CAP = 3000


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.commit_param(repo, "ref")
    data = ctx.render.commit(repo, sha)
    page = paginate(ctx, data["files"][:COMMIT_FILES_CAP], default=COMMIT_FILES_PAGE,
                    most=COMMIT_FILES_PAGE)
    data["files"] = page.body
    return Reply(200, data, page.headers)


@route("GET", "/repos/{owner}/{repo}/commits")
def list_commits(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    head = ctx.world.resolve(repo, ctx.query.get("sha"))
    shas = list(reversed(repo.git.commits_between(None, head)))
    path = ctx.query.get("path")
    if path:
        shas = [s for s in shas if _touches(repo, s, path)]
    since, until = ctx.query.get("since"), ctx.query.get("until")
    if since or until:
        def stamp(sha: str) -> str:
            return now_iso(repo.git.commit_info(sha).committer.timestamp)
        shas = [s for s in shas if (not since or stamp(s) >= since)
                and (not until or stamp(s) <= until)]
    return paginate(ctx, [ctx.render.commit(repo, s, with_files=False) for s in shas])


def _touches(repo, sha: str, path: str) -> bool:
    info = repo.git.commit_info(sha)
    base = info.parents[0] if info.parents else EMPTY_TREE
    return any(c.path == path or c.path.startswith(path.rstrip("/") + "/")
               for c in repo.git.diff(base, sha))


@route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
def pulls_for_commit(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    sha = ctx.commit_param(repo, "commit_sha")
    found = []
    for pr in repo.pulls.values():
        if pr.merge_commit_sha == sha and pr.merged:
            found.append(pr)
        elif sha in repo.git.commits_between(pr.base_sha, pr.head_sha):
            found.append(pr)
    return paginate(ctx, [ctx.render.pull(repo, pr, full=False) for pr in found])


# Compare answers at most 250 commits (the oldest) and 300 files, as GitHub documents;
# `total_commits`/`ahead_by` keep the true counts.
COMPARE_COMMITS_CAP = 250
COMPARE_FILES_CAP = 300


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    base_ref, sep, head_ref = ctx.params["basehead"].partition("...")
    if not sep:
        raise not_found()
    base = repo.git.resolve(base_ref.split(":")[-1])
    head = repo.git.resolve(head_ref.split(":")[-1])
    if base is None or head is None:
        raise not_found()
    merge_base = repo.git.merge_base(base, head)
    if merge_base is None:
        raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
    ahead = repo.git.commits_between(base, head)
    behind = repo.git.commits_between(head, base)
    status = ("identical" if base == head else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    changes = repo.git.diff(merge_base, head)
    u = f"{ctx.render.api}/repos/{repo.full_name}/compare/{base_ref}...{head_ref}"
    html = f"{ctx.render.web}/{repo.full_name}/compare/{base_ref}...{head_ref}"
    return Reply(200, {
        "url": u, "html_url": html, "permalink_url": html, "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch", "base_commit": ctx.render.commit(repo, base, False),
        "merge_base_commit": ctx.render.commit(repo, merge_base, False), "status": status,
        "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
        "commits": [ctx.render.commit(repo, s, False) for s in ahead[:COMPARE_COMMITS_CAP]],
        "files": [ctx.render.diff_entry(repo, head, c) for c in changes[:COMPARE_FILES_CAP]],
    })


# -- contents ------------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/contents")
@route("GET", "/repos/{owner}/{repo}/contents/")
def get_root_contents(ctx: Ctx) -> Reply:
    ctx.params["path"] = ""
    return get_contents(ctx)


@route("GET", "/repos/{owner}/{repo}/contents/{path}")
def get_contents(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ref = ctx.query.get("ref") or repo.default_branch
    commit = ctx.world.resolve(repo, ref)
    path = ctx.params["path"].strip("/")
    entry = repo.git.entry_at(commit, path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        items = []
        for child in repo.git.ls_tree(commit, path):
            child_path = f"{path}/{child.path}" if path else child.path
            kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[child.type]
            items.append(ctx.render.content(repo, child_path, child.sha, child.size or 0,
                                            ref, kind=kind))
        return Reply(200, items)
    data = repo.git.read_blob(entry.sha)
    return Reply(200, ctx.render.content(repo, path, entry.sha, len(data), ref, data))


@route("PUT", "/repos/{owner}/{repo}/contents/{path}")
def put_contents(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    for name in ("message", "content"):
        if not isinstance(body.get(name), str):
            raise validation_failed("Content", "missing_field", name)
    try:
        data = base64.b64decode(body["content"], validate=True)
    except (binascii.Error, ValueError):
        raise validation_failed("Content", "invalid", "content", "content is not valid "
                                "Base64") from None
    path = ctx.params["path"].strip("/")
    existed = body.get("sha") is not None
    commit, blob = ctx.world.put_file(repo, path, data, body["message"], body.get("branch"),
                                      body.get("sha"), ctx.login, _person(body.get("author")),
                                      _person(body.get("committer")))
    ref = body.get("branch") or repo.default_branch
    return Reply(200 if existed else 201, {
        "content": ctx.render.content(repo, path, blob, len(data), ref),
        "commit": _file_commit(ctx, repo, commit),
    })


@route("DELETE", "/repos/{owner}/{repo}/contents/{path}")
def delete_contents(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    if not isinstance(body.get("sha"), str):
        raise validation_failed("Content", "missing_field", "sha")
    if not isinstance(body.get("message"), str):
        raise validation_failed("Content", "missing_field", "message")
    commit = ctx.world.delete_file(repo, ctx.params["path"].strip("/"), body["message"],
                                   body.get("branch"), body["sha"], ctx.login)
    return Reply(200, {"content": None, "commit": _file_commit(ctx, repo, commit)})


def _person(data: object) -> Person | None:
    if not isinstance(data, dict):
        return None
    if not isinstance(data.get("name"), str) or not isinstance(data.get("email"), str):
        raise validation_failed("Content", "invalid", "author")
    return Person(data["name"], data["email"], int(time.time()))


def _file_commit(ctx: Ctx, repo, sha: str) -> dict:
    git = ctx.render.git_commit(repo, repo.git.commit_info(sha))
    return git
