"""`janus request`: write an access request (one file per namespace), judged before anything moves.

Two ways out, both after the same judge the receiver runs at merge (``load_request`` +
``evaluate``), so the command can never produce a request that could not be granted:

* ``--repo-dir DIR``: write the files into a local checkout of the access repository and print
  the ``git`` commands that open the PR. An existing *different* file is never overwritten.
* ``--open-pr``: open the PR through the GitHub API with ``open_request_pr`` (idempotent: the same
  request run twice finds the same branch and PR) and print its URL. The token's user is the PR
  author, so it must be the requester (docs/design.md §5 step 4); the requester defaults to it.

The files and the PR text are drafted by :mod:`janus.policy.drafting`, shared with the web form,
so a file from the CLI and one from the form differ only in their first comment line. Exit codes:
0 written/opened, 1 refused (bad input, judge said no, existing file, GitHub refused),
2 configuration error (unreadable/invalid policies, token file, membership file).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from janus.cli.errors import CliError
from janus.model.problems import Problem  # a plain dataclass: cheap to import for `--help`
from janus.policy.drafting import (
    MAX_NAMESPACES,
    PreparedRequest,
    RequestForm,
    judge_request_file,
    pr_body,
    pr_title,
    render_request_yaml,
    request_path,
    split_namespaces,
)

if TYPE_CHECKING:
    from github import Github
    from github.Repository import Repository

    from janus.model import PolicySet
    from janus.policy import Membership

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_CONFIG = 2

DEFAULT_API_URL = "https://api.github.com"
ARGS = "command line"  # Problem.path for errors in the arguments themselves

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_REPO = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NAME_MAX = 63
_HASH_LEN = 6
_TICKET_MAX = 20
CLI_ORIGIN = "`janus request`"


# -- arguments ------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "request",
        help="write (--repo-dir) or open (--open-pr) an access request, judged first",
        description="Render one request file per namespace, judge each against the policies, "
                    "then write them into a checkout or open the pull request.",
    )
    parser.add_argument("--cluster", required=True, help="target cluster (from JanusConfig)")
    parser.add_argument("--namespace", dest="namespaces", action="append", required=True,
                        metavar="NS", help="namespace; repeat (or comma-separate) for several")
    parser.add_argument("--role", help="role (default: the only role, if JanusConfig has one)")
    parser.add_argument("--duration", help="Go-style duration such as 30m or 1h30m "
                                           "(default: JanusConfig's duration.default)")
    parser.add_argument("--reason", required=True, help="why access is needed (10..500 chars)")
    parser.add_argument("--ticket", default="", help="ticket, e.g. INC-1234")
    parser.add_argument("--break-glass", action="store_true",
                        help="emergency: ask Janus to merge and grant at once without approval "
                             "(only where a policy's breakGlass lists you, up to its "
                             "maxDuration); reviewers review it afterwards")
    parser.add_argument("--name", help="request name, a DNS label (default: "
                                       "<requester>-<namespace>-<ticket or short hash>)")
    parser.add_argument("--requester", metavar="LOGIN",
                        help="GitHub login (default with --open-pr: the token's user)")
    parser.add_argument("--members", type=Path, metavar="FILE",
                        help="team membership YAML (teams: {org/slug: [login]}); default: the "
                             "GitHub API with --open-pr, nobody in any team with --repo-dir")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--repo-dir", type=Path, metavar="DIR",
                      help="write the files into this checkout of the access repository")
    mode.add_argument("--open-pr", action="store_true",
                      help="open the pull request through the GitHub API")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="access repository (--open-pr)")
    parser.add_argument("--github-api-url", default=DEFAULT_API_URL, metavar="URL",
                        help=f"GitHub REST root (--open-pr; default {DEFAULT_API_URL})")
    parser.add_argument("--token-file", type=Path, metavar="FILE",
                        help="file holding the requester's GitHub token (--open-pr)")
    parser.set_defaults(func=_run)


# -- pure parts: names, files ---------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    """The request the arguments describe: the drafted form's fields, who asks, and a name."""

    form: RequestForm
    requester: str
    name: str | None = None  # None: one default name per namespace


@dataclass
class Rendered:
    files: dict[str, str] = field(default_factory=dict)   # repo-relative path -> YAML text
    names: dict[str, str] = field(default_factory=dict)   # namespace -> request name
    problems: list[Problem] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)


def split_namespace_args(values: list[str]) -> tuple[str, ...]:
    """``--namespace a --namespace b,c`` -> ``(a, b, c)``, order kept, duplicates dropped."""
    return split_namespaces(" ".join(values))


def default_name(requester: str, cluster: str, namespace: str, role: str, duration: str,
                 reason: str, ticket: str) -> str:
    """``<requester>-<namespace>-<ticket or short hash>``, lower-case, a DNS label ≤ 63.

    The suffix is never cut, so two requests differing only there stay distinct; the
    requester/namespace part gives way instead. The hash covers everything the file says, so
    the same command run twice names the same file (and finds the same PR).
    """
    suffix = _NOT_ALNUM.sub("", ticket.lower())[:_TICKET_MAX]
    if not suffix:
        suffix = hashlib.sha256("\n".join(
            [requester.lower(), cluster, namespace, role, duration, reason]
        ).encode()).hexdigest()[:_HASH_LEN]
    head = _NOT_ALNUM.sub("-", f"{requester.lower()}-{namespace}").strip("-")
    head = head[: _NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}"


def _label_problem(option: str, value: str, example: str) -> Problem | None:
    if _DNS_LABEL.fullmatch(value):
        return None
    return Problem(ARGS, None, None, "cli.dns-label", (
        f"{option} {value!r} is not a DNS-1123 label; lower-case letters, digits and '-', "
        f"at most 63 characters, starting and ending with a letter or digit, are accepted "
        f"(e.g. {example})"
    ))


def check_arguments(given: RequestInput) -> list[Problem]:
    """Checks of what becomes a *path* segment, before any path is built from it.

    The judge would refuse these too, but only after a path had been made of them; checking
    here means a name like ``../../x`` never reaches ``Path`` at all.
    """
    form = given.form
    problems = [p for p in (
        _label_problem("--cluster", form.cluster, "prod"),
        *(_label_problem("--namespace", ns, "payments") for ns in form.namespaces),
        _label_problem("--name", given.name, "alice-payments-inc1234") if given.name else None,
    ) if p is not None]
    if not form.namespaces:
        problems.append(Problem(ARGS, None, None, "cli.namespace",
                                "at least one --namespace is required"))
    elif len(form.namespaces) > MAX_NAMESPACES:  # the web form's bound, the same for both
        problems.append(Problem(ARGS, None, None, "cli.namespace", (
            f"{len(form.namespaces)} namespaces given; at most {MAX_NAMESPACES} per request "
            "are accepted (open several requests)")))
    if not _GITHUB_LOGIN.fullmatch(given.requester):
        problems.append(Problem(ARGS, None, None, "cli.requester", (
            f"requester {given.requester!r} is not a GitHub login; letters, digits and '-', "
            "at most 39 characters, are accepted")))
    return problems


def render(given: RequestInput, policies: PolicySet, membership: Membership) -> Rendered:
    """Render every file and judge it exactly as the receiver will after merge."""
    out = Rendered(problems=check_arguments(given))
    if out.problems:
        return out
    form = given.form
    for namespace in form.namespaces:
        name = given.name or default_name(given.requester, form.cluster, namespace,
                                          form.role, form.duration, form.reason, form.ticket)
        path = request_path(form.cluster, namespace, name)
        text = render_request_yaml(name, given.requester, form.cluster, namespace, form,
                                   origin=CLI_ORIGIN)
        out.files[path] = text
        out.names[namespace] = name
        problems, approval = judge_request_file(path, text, policies, membership)
        out.problems += problems
        if approval is not None:
            out.approvals.append(approval)
    return out


def pr_text(given: RequestInput, rendered: Rendered) -> tuple[str, str]:
    """Title and body, as the web form writes them (so reviewers see one format)."""
    prepared = PreparedRequest(name=given.name or "", files=rendered.files, origin=CLI_ORIGIN,
                               approvals=rendered.approvals)
    return pr_title(given.requester, given.form), pr_body(given.requester, given.form, prepared)


# -- writing into a checkout ----------------------------------------------------------------------


def plan_writes(repo_dir: Path, files: dict[str, str]) -> tuple[list[str], list[Problem]]:
    """Which files to create; problems if any target exists with other content or is unsafe.

    Nothing is written unless every file can be: a half-written request would be a PR that
    asks for fewer namespaces than the user meant.
    """
    to_write: list[str] = []
    problems: list[Problem] = []
    root = repo_dir.resolve()
    for path, text in sorted(files.items()):
        target = repo_dir / path
        # A symlinked requests/, cluster or namespace folder could point anywhere on disk.
        for part in [*reversed(target.parents[: len(Path(path).parts) - 1]), target]:
            if part.is_symlink():
                problems.append(Problem(path, None, None, "file.symlink", (
                    f"{part} is a symbolic link; Janus writes request files only into plain "
                    "folders of the checkout")))
                break
        else:
            if not target.resolve().is_relative_to(root):
                problems.append(Problem(path, None, None, "path.outside-repo", (
                    f"{path} would land outside {repo_dir}; requests/<cluster>/<namespace>/ "
                    "inside the checkout is accepted")))
            elif target.exists():
                if not target.is_file():
                    problems.append(Problem(path, None, None, "file.exists", (
                        f"{path} exists and is not a regular file; remove it or choose "
                        "another --name")))
                elif target.read_bytes() != text.encode("utf-8"):
                    problems.append(Problem(path, None, None, "file.exists", (
                        f"{path} already exists with different content and is left alone; "
                        "choose another --name, or edit that file by hand to extend it")))
                # Identical content: already written by an earlier run, nothing to do.
            else:
                to_write.append(path)
    return to_write, problems


def write_files(repo_dir: Path, files: dict[str, str], paths: list[str]) -> None:
    for path in paths:
        target = repo_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": never clobber a file that appeared since plan_writes looked.
        with open(target, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(files[path])


def git_commands(repo_dir: Path, branch: str, paths: list[str], title: str) -> list[str]:
    import shlex

    git = f"git -C {shlex.quote(str(repo_dir))}"
    return [
        f"{git} switch -c {shlex.quote(branch)}",
        f"{git} add -- {' '.join(shlex.quote(p) for p in paths)}",
        f"{git} commit -m {shlex.quote(title)}",
        f"{git} push -u origin {shlex.quote(branch)}",
        "# then open a pull request from that branch into the default branch",
    ]


# -- GitHub ---------------------------------------------------------------------------------------


class _FailClosedMembership:
    """GitHub-backed membership that answers "no team" when GitHub cannot answer, and says so."""

    def __init__(self, inner: Membership) -> None:
        self.inner = inner
        self.failed: str | None = None

    def teams_of(self, login: str) -> frozenset[str]:
        try:
            return self.inner.teams_of(login)
        except Exception as exc:  # any failure means "unknown", i.e. no team
            self.failed = str(getattr(exc, "status", "")) or type(exc).__name__
            return frozenset()


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CliError(f"--token-file {path}: cannot read it ({reason}); a file holding "
                       "one GitHub token is accepted", EXIT_CONFIG) from None
    if not token or any(c.isspace() for c in token):
        raise CliError(f"--token-file {path}: expected exactly one GitHub token on one "
                       "line (the file's content is not shown)", EXIT_CONFIG)
    return token


def _connect(args: argparse.Namespace) -> tuple[Github, Repository, str]:
    """(Github client, repository, authenticated login) for --open-pr."""
    from github import Auth, BadCredentialsException, Github, GithubException

    if not args.repo or not _REPO.fullmatch(args.repo):
        raise CliError(f"--repo {args.repo!r}: --open-pr needs the access repository as "
                       "OWNER/NAME, e.g. acme/access", EXIT_CONFIG)
    if args.token_file is None:
        raise CliError("--open-pr needs --token-file FILE holding the requester's GitHub "
                       "token (the PR author must be the requester)", EXIT_CONFIG)
    token = _read_token(args.token_file)
    gh = Github(base_url=args.github_api_url.rstrip("/"), auth=Auth.Token(token), timeout=15,
                retry=None)
    try:
        login = gh.get_user().login
        repo = gh.get_repo(args.repo)
        repo.default_branch  # noqa: B018 - forces the GET, so a 404 surfaces here
    except BadCredentialsException:
        raise CliError(f"GitHub at {args.github_api_url} refused the token in "
                       f"{args.token_file} (401); a valid, unexpired token is accepted",
                       EXIT_CONFIG) from None
    except GithubException as exc:
        raise CliError(_github_error(exc, f"reading {args.repo}"), EXIT_CONFIG) from None
    except OSError as exc:
        raise CliError(f"cannot reach GitHub at {args.github_api_url}: {exc}",
                       EXIT_CONFIG) from None
    return gh, repo, login


def _github_error(exc: Exception, doing: str) -> str:
    status = getattr(exc, "status", None)
    if status is None:  # not an HTTP answer: a network error or a local refusal
        return f"{doing} failed: {exc}"
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    return f"GitHub refused {doing} ({status}{': ' + message if message else ''})"


def _policies_from_github(repo: Repository) -> PolicySet:
    from janus.gitops.sources import load_policy_set
    from janus.model import ConfigError

    try:
        # Read as the receiver reads them when it judges the merged PR.
        return load_policy_set(repo, repo.default_branch)
    except ConfigError as exc:
        _print_problems(exc.problems)
        raise CliError(f"the policies on {repo.full_name}'s default branch are invalid; "
                       "nothing was opened", EXIT_CONFIG) from None
    except Exception as exc:  # any read failure: refuse to judge blind
        raise CliError(_github_error(exc, f"reading policies/ of {repo.full_name}"),
                       EXIT_CONFIG) from None


def _refuse_if_already_merged(repo: Repository, files: dict[str, str]) -> None:
    """Identical files already on the default branch: a PR would have no diff (GitHub: 422
    "No commits between"), so say what happened instead of failing at the last step."""
    from github import GithubException

    branch = repo.default_branch
    for path, text in files.items():
        try:
            current = repo.get_contents(path, ref=branch)
        except GithubException as exc:
            if exc.status == 404:
                return  # at least one file is new: the PR has something to add
            raise CliError(_github_error(exc, f"reading {path}"), EXIT_CONFIG) from None
        if isinstance(current, list) or current.decoded_content != text.encode("utf-8"):
            return
    raise CliError(f"this exact request is already on {branch} of {repo.full_name} "
                   "(merged earlier); nothing to open — change --ticket, --name or the "
                   "duration to ask again")


def _candidate_teams(policies: PolicySet) -> set[str]:
    teams: set[str] = set()
    for policy in policies.policies:
        teams |= set(policy.requester_teams)
    return teams


# -- the command ----------------------------------------------------------------------------------


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


def _membership(args: argparse.Namespace) -> Membership:
    from janus.policy import NO_MEMBERSHIP, StaticMembership

    if args.members is None:
        return NO_MEMBERSHIP
    try:
        return StaticMembership.from_file(args.members)
    except (OSError, ValueError) as exc:
        raise CliError(f"--members: {exc}", EXIT_CONFIG) from None


def _given(args: argparse.Namespace, policies: PolicySet, requester: str) -> RequestInput:
    from janus.model import format_duration

    config = policies.config
    role = args.role
    if role is None:
        roles = sorted(config.roles)
        if len(roles) != 1:
            raise CliError(f"--role is required; roles accepted: {', '.join(roles)}")
        role = roles[0]
    duration = args.duration or format_duration(config.duration_default)
    form = RequestForm(
        cluster=args.cluster.strip(),
        namespaces=split_namespace_args(args.namespaces),
        role=role.strip(),
        duration=duration.strip(),
        # One line, as the form does: a reason is a sentence in a diff, not a document.
        reason=" ".join(args.reason.split()),
        ticket=args.ticket.strip(),
        break_glass=bool(getattr(args, "break_glass", False)),
    )
    return RequestInput(
        form=form,
        requester=requester,
        name=args.name.strip() if args.name is not None else None,
    )


def _run(args: argparse.Namespace) -> int:
    return _open_pr(args) if args.open_pr else _write_local(args)


def _judged(args: argparse.Namespace, policies: PolicySet, requester: str,
            membership: Membership) -> tuple[RequestInput, Rendered]:
    given = _given(args, policies, requester)
    rendered = render(given, policies, membership)
    if rendered.problems:
        _print_problems(rendered.problems)
        hint = ""
        if any(p.rule == "requester.not-eligible" for p in rendered.problems):
            if isinstance(membership, _FailClosedMembership) and membership.failed:
                failed = membership.failed
                hint = (f" (GitHub did not answer a team membership question ({failed}), "
                        "so team membership counted as none)")
            elif args.members is None and not args.open_pr:
                hint = " (team membership was not checked: pass --members FILE)"
            elif args.members is None:
                # GitHub hides team membership from tokens without read:org: a 404, i.e. "no".
                hint = (" (team membership was asked of GitHub with your token, which needs "
                        "the read:org scope to see it; or pass --members FILE)")
        raise CliError(f"the request is invalid{hint}; nothing was written or opened")
    return given, rendered


def _write_local(args: argparse.Namespace) -> int:
    from janus.gitops.request_pr import request_branch
    from janus.model import ConfigError, load_policy_set

    repo_dir: Path = args.repo_dir
    if args.requester is None:
        raise CliError("--repo-dir needs --requester LOGIN: the GitHub login that will "
                       "open the pull request (its author must be the requester)")
    if not (repo_dir / "policies").is_dir():
        raise CliError(f"--repo-dir {repo_dir}: no policies/ folder there; a checkout of "
                       "the access repository is accepted", EXIT_CONFIG)
    try:
        policies = load_policy_set(repo_dir)
    except ConfigError as exc:
        _print_problems(exc.problems)
        raise CliError(f"the policies in {repo_dir / 'policies'} are invalid; nothing was "
                       "written", EXIT_CONFIG) from None
    given, rendered = _judged(args, policies, args.requester.strip(), _membership(args))
    to_write, problems = plan_writes(repo_dir, rendered.files)
    if problems:
        _print_problems(problems)
        raise CliError("refusing to overwrite; nothing was written")
    write_files(repo_dir, rendered.files, to_write)
    for path in sorted(rendered.files):
        state = "wrote" if path in to_write else "unchanged (already there)"
        print(f"{state}: {repo_dir / path}", file=sys.stderr)
    for line in rendered.approvals:
        print(f"needs: {line}", file=sys.stderr)
    title, _ = pr_text(given, rendered)
    branch = request_branch(given.requester, rendered.files)
    print("\n".join(git_commands(repo_dir, branch, sorted(rendered.files), title)))
    return EXIT_OK


def _open_pr(args: argparse.Namespace) -> int:
    from github import GithubException

    from janus.gitops.membership import GitHubMembership
    from janus.gitops.request_pr import open_request_pr

    gh, repo, login = _connect(args)
    requester = args.requester.strip() if args.requester is not None else login
    if requester.lower() != login.lower():
        raise CliError(f"--requester {requester} differs from the token's user {login}; "
                       "the PR author must be the requester, so only your own login (or "
                       "no --requester) is accepted")
    policies = _policies_from_github(repo)
    membership: Membership = (
        _membership(args) if args.members is not None
        else _FailClosedMembership(GitHubMembership(gh, _candidate_teams(policies)))
    )
    given, rendered = _judged(args, policies, login, membership)
    _refuse_if_already_merged(repo, rendered.files)
    title, body = pr_text(given, rendered)
    try:
        pull = open_request_pr(repo, login, rendered.files, title, body)
    except (GithubException, ValueError, OSError) as exc:
        raise CliError(_github_error(exc, "opening the pull request") + "; nothing was "
                       "lost: run the same command again to resume") from None
    for line in rendered.approvals:
        print(f"needs: {line}", file=sys.stderr)
    print(pull.html_url)
    return EXIT_OK
