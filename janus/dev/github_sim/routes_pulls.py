"""REST handlers: pull requests, reviews, merges, issue comments and labels."""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError, not_found, validation_failed
from .model import Issue, Pull, Repo
from .rest import Ctx, Reply, paginate, route

# GitHub's documented caps: "Lists a maximum of 250 commits for a pull request" (the first
# 250; the PR's `commits` count still says how many there are) and at most 3,000 files
# (`changed_files` keeps the true count). A longer list is silently cut, as on GitHub.
PULL_COMMITS_CAP = 250
PULL_FILES_CAP = 3000


def _pr(ctx: Ctx, needed: str = "read") -> tuple[Repo, Pull]:
    repo = ctx.repo(needed)
    number = ctx.int_param("pull_number" if "pull_number" in ctx.params else "issue_number")
    return repo, ctx.world.pull(repo, number)


@route("POST", "/repos/{owner}/{repo}/pulls")
def create_pull(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    if not body.get("head"):
        raise validation_failed("PullRequest", "missing_field", "head")
    if not body.get("base"):
        raise validation_failed("PullRequest", "missing_field", "base")
    pr = ctx.world.create_pull(repo, body.get("title"), body["head"], body["base"],
                               body.get("body"), bool(body.get("draft")), ctx.login,
                               bool(body.get("maintainer_can_modify")))
    return Reply(201, ctx.render.pull(repo, pr))


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    state = ctx.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("PullRequest", "invalid", "state")
    pulls = [p for p in repo.pulls.values() if state in ("all", p.state)]
    head = ctx.query.get("head")
    if head:
        owner, _, branch = head.partition(":")
        # GitHub ignores a head filter without the "owner:" prefix (a classic gotcha).
        if branch:
            pulls = [p for p in pulls if p.head_ref == branch and owner.lower()
                     == (p.head_repo or repo.full_name).split("/")[0].lower()]
    if ctx.query.get("base"):
        pulls = [p for p in pulls if p.base_ref == ctx.query["base"]]
    sort = ctx.query.get("sort", "created")
    if sort not in ("created", "updated", "popularity", "long-running"):
        raise validation_failed("PullRequest", "invalid", "sort")
    # GitHub: newest first by default when sorting by creation, oldest first otherwise.
    direction = ctx.query.get("direction") or ("desc" if sort == "created" else "asc")
    key = (lambda p: (p.updated_at, p.number)) if sort == "updated" else (lambda p: p.number)
    pulls.sort(key=key, reverse=direction == "desc")
    return paginate(ctx, [ctx.render.pull(repo, p, full=False) for p in pulls])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    return Reply(200, ctx.render.pull(repo, pr))


@route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
def edit_pull(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    body = ctx.json()
    if body.get("state") not in (None, "open", "closed"):
        raise validation_failed("PullRequest", "invalid", "state")
    ctx.world.edit_pull(repo, pr, body, ctx.login)
    return Reply(200, ctx.render.pull(repo, pr))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def pull_files(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
    changes = repo.git.diff(base, pr.head_sha)[:PULL_FILES_CAP]
    return paginate(ctx, [ctx.render.diff_entry(repo, pr.head_sha, c) for c in changes])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def pull_commits(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
    shas = repo.git.commits_between(base, pr.head_sha)[:PULL_COMMITS_CAP]
    return paginate(ctx, [ctx.render.commit(repo, s, with_files=False) for s in shas])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def is_merged(ctx: Ctx) -> Reply:
    _, pr = _pr(ctx)
    if pr.merged:
        return Reply(204)
    return Reply(404)  # documented (and sent) without a body


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def merge_pull(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    body = ctx.json()
    sha = ctx.world.merge(repo, pr, ctx.login, body.get("merge_method") or "merge",
                          body.get("sha"), body.get("commit_title"), body.get("commit_message"))
    return Reply(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def requested_reviewers(ctx: Ctx) -> Reply:
    _, pr = _pr(ctx)
    return Reply(200, {
        "users": [ctx.render.user(u) for u in pr.requested_reviewers],
        "teams": [ctx.render.team(ctx.world.team(*t.split("/", 1))) for t in pr.requested_teams],
    })


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def request_reviewers(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    body = ctx.json()
    ctx.world.request_reviewers(repo, pr, list(body.get("reviewers") or []),
                                list(body.get("team_reviewers") or []), ctx.login)
    return Reply(201, ctx.render.pull(repo, pr, full=False))


@route("DELETE", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def remove_reviewers(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    body = ctx.json()
    ctx.world.remove_requested(repo, pr, list(body.get("reviewers") or []),
                               list(body.get("team_reviewers") or []), ctx.login)
    return Reply(200, ctx.render.pull(repo, pr, full=False))


# -- reviews -------------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    viewer = (ctx.caller.login or "").lower()
    # A pending review is visible only to its author, as on GitHub.
    visible = [r for r in pr.reviews if r.state != "PENDING" or r.user.lower() == viewer]
    return paginate(ctx, [ctx.render.review(repo, pr, r) for r in visible])


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    body = ctx.json()
    if body.get("comments"):
        raise ApiError(422, "Unprocessable Entity",
                       ["The simulator does not support line comments in reviews"])
    review = ctx.world.create_review(repo, pr, body.get("event"), body.get("body"),
                                     body.get("commit_id"), ctx.login)
    return Reply(200, ctx.render.review(repo, pr, review))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}")
def get_review(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    review = ctx.world.review(pr, ctx.int_param("review_id"))
    return Reply(200, ctx.render.review(repo, pr, review))


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals")
def dismiss_review(ctx: Ctx) -> Reply:
    repo, pr = _pr(ctx)
    review = ctx.world.review(pr, ctx.int_param("review_id"))
    body = ctx.json()
    if not body.get("message"):
        raise ApiError(422, "Unprocessable Entity", ["message is required"])
    ctx.world.dismiss_review(repo, pr, review, body["message"], ctx.login)
    return Reply(200, ctx.render.review(repo, pr, review))


# -- issues: comments and labels (pull requests are issues) --------------------------------------


def _issue(ctx: Ctx, needed: str = "read") -> tuple[Repo, Pull | Issue]:
    repo = ctx.repo(needed)
    return repo, ctx.world.issue_or_pull(repo, ctx.int_param("issue_number"))


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    body = ctx.json()
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise validation_failed("Issue", "missing_field", "title")
    labels = [n["name"] if isinstance(n, dict) else str(n) for n in body.get("labels") or []]
    assignees = [str(a) for a in body.get("assignees") or []]
    if body.get("assignee"):
        assignees.append(str(body["assignee"]))
    issue = ctx.world.create_issue(repo, title, body.get("body"), ctx.login, labels, assignees)
    return Reply(201, ctx.render.issue(repo, issue))


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx) -> Reply:
    """Issues and pull requests, newest first, filtered by ``state`` (default open),
    ``labels`` (all of them, comma-separated) and ``assignee``, as on GitHub."""
    repo = ctx.repo()
    state = ctx.query.get("state", "open")
    wanted = {n.strip().lower() for n in ctx.query.get("labels", "").split(",") if n.strip()}
    assignee = ctx.query.get("assignee")
    items: list[Pull | Issue] = [*repo.issues.values(), *repo.pulls.values()]
    items.sort(key=lambda i: i.number, reverse=True)
    out = []
    for item in items:
        if state != "all" and item.state != state:
            continue
        if not wanted <= {n.lower() for n in item.labels}:
            continue
        if assignee and (not isinstance(item, Issue) or assignee.lower() not in
                         {a.lower() for a in item.assignees}):
            continue
        out.append(ctx.render.issue(repo, item))
    return paginate(ctx, out)


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def edit_issue(ctx: Ctx) -> Reply:
    repo, item = _issue(ctx)
    if not isinstance(item, Issue):
        raise ApiError(422, "Editing a pull request as an issue is not simulated")
    body = ctx.json()
    keys = ("title", "body", "state", "state_reason", "labels", "assignees")
    changes: dict[str, Any] = {k: body[k] for k in keys if k in body}
    ctx.world.edit_issue(repo, item, changes, ctx.login)
    return Reply(200, ctx.render.issue(repo, item))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees")
def add_assignees(ctx: Ctx) -> Reply:
    repo, item = _issue(ctx)
    if not isinstance(item, Issue):
        raise ApiError(422, "Assigning a pull request is not simulated")
    logins = [str(a) for a in ctx.json().get("assignees") or []]
    ctx.world.set_assignees(repo, item, logins, ctx.login, add_only=True)
    return Reply(201, ctx.render.issue(repo, item))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    return Reply(200, ctx.render.issue(repo, pr))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    comments = [c for c in repo.comments.values() if c.issue_number == pr.number]
    return paginate(ctx, [ctx.render.comment(repo, c) for c in comments])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    comment = ctx.world.create_comment(repo, pr.number, str(ctx.json().get("body") or ""),
                                       ctx.login)
    return Reply(201, ctx.render.comment(repo, comment))


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    return Reply(200, ctx.render.comment(repo, ctx.world.comment(repo,
                                                                 ctx.int_param("comment_id"))))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def edit_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    comment = ctx.world.comment(repo, ctx.int_param("comment_id"))
    body = ctx.json().get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed("IssueComment", "missing_field", "body")
    ctx.world.edit_comment(repo, comment, body, ctx.login)
    return Reply(200, ctx.render.comment(repo, comment))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    ctx.world.delete_comment(repo, ctx.world.comment(repo, ctx.int_param("comment_id")),
                             ctx.login)
    return Reply(204)


def _label_names(ctx: Ctx) -> list[str]:
    # Both {"labels": [...]} and a bare JSON array are accepted, as on GitHub.
    try:
        body = json.loads(ctx.raw_body or b"[]")
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
    names = body.get("labels") or [] if isinstance(body, dict) else body
    return [n["name"] if isinstance(n, dict) else str(n) for n in names]


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_labels(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    return paginate(ctx, [ctx.render.label(repo, ctx.world.label(repo, n)) for n in pr.labels])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_labels(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    ctx.world.add_labels(repo, pr, _label_names(ctx), ctx.login)
    return Reply(200, [ctx.render.label(repo, ctx.world.label(repo, n)) for n in pr.labels])


@route("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_labels(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    ctx.world.add_labels(repo, pr, _label_names(ctx), ctx.login, replace=True)
    return Reply(200, [ctx.render.label(repo, ctx.world.label(repo, n)) for n in pr.labels])


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_label(ctx: Ctx) -> Reply:
    repo, pr = _issue(ctx)
    ctx.world.remove_label(repo, pr, ctx.params["name"], ctx.login)
    return Reply(200, [ctx.render.label(repo, ctx.world.label(repo, n)) for n in pr.labels])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def review_comments(ctx: Ctx) -> Reply:
    _pr(ctx)
    return paginate(ctx, [])  # line comments are not simulated; the list is honestly empty


@route("GET", "/repos/{owner}/{repo}/labels")
def repo_labels(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    return paginate(ctx, [ctx.render.label(repo, lb) for lb in repo.labels.values()])


@route("GET", "/repos/{owner}/{repo}/labels/{name}")
def repo_label(ctx: Ctx) -> Reply:
    repo = ctx.repo()
    label = repo.labels.get(ctx.params["name"].lower())
    if label is None:
        raise not_found()
    return Reply(200, ctx.render.label(repo, label))


@route("POST", "/repos/{owner}/{repo}/labels")
def create_label(ctx: Ctx) -> Reply:
    repo = ctx.repo("write")
    body = ctx.json()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise validation_failed("Label", "missing_field", "name")
    if name.lower() in repo.labels:
        raise validation_failed("Label", "already_exists", "name")
    label = ctx.world.label(repo, name)
    label.color = str(body.get("color") or "ededed").lstrip("#")
    label.description = body.get("description")
    return Reply(201, ctx.render.label(repo, label))
