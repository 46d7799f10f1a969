"""`janus validate`, `janus plan` and `janus codeowners`: the judge, from the command line.

Exit codes (all three): 0 success; 1 a request file is invalid, or CODEOWNERS is out of date
(``--check``); 2 usage or configuration error (invalid ``policies/``, unreadable ``--members``).

Without ``--members`` nobody is in any team, so requesters listed only through a team are
refused; pass a membership file (``janus/dev/demo_members.yaml`` in the demo).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from janus.cli.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE, CliError
from janus.cli.output import add_output_option, emit

if TYPE_CHECKING:
    from janus.model import PolicySet, Problem, Request
    from janus.policy import Decision, Membership

CODEOWNERS_PATH = ".github/CODEOWNERS"


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate", help="check request files against the policies (exit 1 if any is invalid)"
    )
    _repo_option(validate)
    _members_option(validate)
    validate.add_argument("--format", choices=("text", "json", "github"), default="text",
                          help="text: one line per error, like a compiler (default); json; "
                               "github: GitHub Actions annotations on the PR's lines")
    validate.add_argument("paths", nargs="*", metavar="PATH",
                          help="request files or folders (default: everything under requests/)")
    validate.set_defaults(func=_validate)

    plan = subparsers.add_parser(
        "plan", help="print the objects a grant of each request will create, as YAML"
    )
    _repo_option(plan)
    _members_option(plan)
    plan.add_argument("paths", nargs="+", metavar="PATH", help="request files")
    add_output_option(plan, human="YAML documents with a comment per request")
    plan.set_defaults(func=_plan)

    codeowners = subparsers.add_parser(
        "codeowners", help="write .github/CODEOWNERS from the policies (--check: compare only)"
    )
    _repo_option(codeowners)
    codeowners.add_argument("--check", action="store_true",
                            help="exit 1 and show a diff if .github/CODEOWNERS is out of date")
    codeowners.set_defaults(func=_codeowners)


def _repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="DIR",
                        help="the access repository (policies/, requests/); default: .")


def _members_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=Path, metavar="FILE",
                        help="team membership YAML: teams: {org/slug: [login, ...]}")


# -- shared steps ---------------------------------------------------------------------------------


def _load_policies(repo: Path, fmt: str = "text") -> PolicySet:
    from janus.model import ConfigError, load_policy_set

    try:
        return load_policy_set(repo)
    except ConfigError as exc:
        if fmt == "json":
            print(json.dumps({"files": [], "configErrors": [
                {"path": p.path, **p.as_json()} for p in exc.problems
            ]}, indent=2))
        else:
            for problem in exc.problems:
                print(problem.format())
        print(f"janus: the policies in {repo / 'policies'} are invalid; nothing was checked",
              file=sys.stderr)
        raise CliError(code=EXIT_USAGE) from None  # already said why


def _load_members(path: Path | None) -> Membership:
    from janus.policy import NO_MEMBERSHIP, StaticMembership

    if path is None:
        return NO_MEMBERSHIP
    try:
        return StaticMembership.from_file(path)
    except (OSError, ValueError) as exc:
        print(f"janus: --members: {exc}", file=sys.stderr)
        raise CliError(code=EXIT_USAGE) from None  # already said why


def _request_files(repo: Path, paths: list[str]) -> Iterator[Path]:
    """The files to check: the given ones, folders walked, or all of ``requests/``."""
    from janus.model.request import NON_REQUEST_FILES

    roots = [Path(p) for p in paths] if paths else [repo / "requests"]
    for root in roots:
        if root.is_dir() and not root.is_symlink():
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    if name not in NON_REQUEST_FILES:
                        yield Path(folder) / name
        elif not paths and not root.exists():
            return
        elif root.name not in NON_REQUEST_FILES:
            yield root


def _judge(
    repo: Path, file: Path, policies: PolicySet, members: Membership
) -> tuple[str, Request | None, Decision | None, list[Problem]]:
    """Load and evaluate one file; return its repo-relative path and what was found."""
    from janus.model import Problem, load_request
    from janus.model.safe_yaml import MAX_BYTES
    from janus.policy import evaluate

    absolute = Path(os.path.abspath(file))
    try:
        shown = absolute.relative_to(Path(os.path.abspath(repo))).as_posix()
    except ValueError:
        return str(file), None, None, [Problem(str(file), None, None, "path.outside-repo", (
            f"the file is not inside the repository {repo}; request files under "
            "requests/<cluster>/<namespace>/ are accepted"
        ))]
    if absolute.is_symlink():
        return shown, None, None, [Problem(shown, None, None, "file.symlink", (
            "the file is a symbolic link; only regular files are accepted"
        ))]
    try:
        with open(absolute, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # enough to know it is too large
    except OSError as exc:
        return shown, None, None, [Problem(shown, None, None, "file.unreadable", (
            f"cannot read the file ({exc.strerror}); a readable regular file is accepted"
        ))]
    request, problems = load_request(shown, data)
    if request is None:
        return shown, None, None, problems
    decision = evaluate(request, policies, members)
    return shown, request, decision, decision.problems


# -- commands -------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from janus.policy.break_glass import describe as describe_break_glass

    policies = _load_policies(args.repo, args.format)
    members = _load_members(args.members)
    warnings = _policy_warnings(args.repo, policies, args.format)
    results = []
    invalid = 0
    glass: dict[str, str] = {}  # path -> what break-glass means for it
    for file in _request_files(args.repo, args.paths):
        shown, _, decision, problems = _judge(args.repo, file, policies, members)
        invalid += bool(problems)
        results.append((shown, problems))
        if decision is not None and decision.break_glass is not None and decision.policy:
            glass[shown] = describe_break_glass(decision.policy, decision.break_glass)
            if args.format == "text":
                print(f"{shown}: note: {glass[shown]}")
        if args.format in ("text", "github"):
            for problem in problems:
                print(problem.format() if args.format == "text" else _annotation(problem))
    if args.format == "json":
        print(json.dumps({"files": [
            {"path": shown, "valid": not problems, "errors": [p.as_json() for p in problems],
             **({"breakGlass": glass[shown]} if shown in glass else {})}
            for shown, problems in results
        ], "warnings": [{"path": w.path, **w.as_json()} for w in warnings]}, indent=2))
    print(f"janus validate: {len(results)} file(s) checked, {invalid} invalid", file=sys.stderr)
    return EXIT_INVALID if invalid else EXIT_OK


def _policy_warnings(repo: Path, policies: PolicySet, fmt: str) -> list[Problem]:
    """Warnings about the policies (janus.policy.policy_warnings): printed in text and github
    formats, returned for json; they never change the exit status."""
    from janus.policy.policy_warnings import policy_warnings

    sources: dict[str, str] = {}
    for policy in policies.policies:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            sources[policy.path] = (repo / policy.path).read_text(encoding="utf-8")
    warnings = policy_warnings(policies, sources)
    for warning in warnings:
        if fmt == "text":
            where = warning.path + (f":{warning.line}" if warning.line is not None else "")
            print(f"{where}: warning: {warning.rule}: {warning.message}")
        elif fmt == "github":
            print(_annotation(warning, "warning"))
    return warnings


def _annotation(problem: Problem, level: str = "error") -> str:
    """A GitHub Actions workflow command, escaped as the runner expects."""
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    where = f"file={prop(problem.path)}"
    if problem.line is not None:
        where += f",line={problem.line}"
        if problem.column is not None:
            where += f",col={problem.column}"
    return f"::{level} {where},title={prop(problem.rule)}::{data(problem.message)}"


def _plan(args: argparse.Namespace) -> int:
    import yaml

    from janus.policy.break_glass import describe
    from janus.policy.plan import plan_objects, role_lines

    policies = _load_policies(args.repo)
    members = _load_members(args.members)
    status = EXIT_OK
    documents: list[str] = []
    data: list[dict[str, object]] = []  # for -o json|yaml
    for file in _request_files(args.repo, args.paths):
        shown, request, decision, problems = _judge(args.repo, file, policies, members)
        if request is None or decision is None or not decision.allowed:
            for problem in problems:
                print(problem.format(), file=sys.stderr)
            status = EXIT_INVALID
            continue
        if decision.approval is None:  # never for an allowed Decision; checked, not asserted
            raise CliError(f"{shown}: allowed without an approval requirement", EXIT_INVALID)
        glass = (describe(decision.policy, decision.break_glass)
                 if decision.break_glass is not None and decision.policy else None)
        if args.output:
            data.append({"path": shown, "policy": decision.policy,
                         "approval": decision.approval.describe(),
                         **({"breakGlass": glass} if glass else {}),
                         "objects": list(plan_objects(request, policies.config))})
            continue
        header = (f"# {shown}: allowed by policy {decision.policy}; "
                  f"needs {decision.approval.describe()}\n")
        if glass:
            header = f"# {shown}: {glass}\n# (a normal request here needs " \
                     f"{decision.approval.describe()})\n"
        header += "".join(f"# {line}\n" for line in role_lines(request, policies.config))
        for obj in plan_objects(request, policies.config):
            documents.append(header + yaml.safe_dump(obj, sort_keys=False))
            header = ""
    if args.output:
        emit({"requests": data}, args.output)
    elif documents:
        sys.stdout.write("---\n".join(documents))
    return status


def _codeowners(args: argparse.Namespace) -> int:
    from janus.policy.codeowners import generate_codeowners

    policies = _load_policies(args.repo)
    wanted = generate_codeowners(policies)
    target = args.repo / CODEOWNERS_PATH
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if args.check:
        if current == wanted:
            print(f"janus codeowners: {CODEOWNERS_PATH} is up to date", file=sys.stderr)
            return EXIT_OK
        sys.stdout.writelines(difflib.unified_diff(
            (current or "").splitlines(keepends=True), wanted.splitlines(keepends=True),
            fromfile=f"{CODEOWNERS_PATH} (current)", tofile=f"{CODEOWNERS_PATH} (from policies)",
        ))
        state = "missing" if current is None else "out of date"
        print(f"janus codeowners: {CODEOWNERS_PATH} is {state}; run `janus codeowners` and "
              "commit the result", file=sys.stderr)
        return EXIT_INVALID
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(wanted, encoding="utf-8")
    print(f"janus codeowners: wrote {CODEOWNERS_PATH}", file=sys.stderr)
    return EXIT_OK
