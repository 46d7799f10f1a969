"""`janus audit` and `janus audit verify`: the access record, from a plain clone of the access
repository — no cluster, no network (the logic is :mod:`janus.audit`).

``janus audit (--at TIME | --since TIME [--until TIME])`` lists who had access (or had it
approved and pending) at that instant or during that period, approved by whom, why, how it ended
and the terminal sessions. ``janus audit verify`` checks the ledger against the history.

Exit codes: 0 answered / consistent; 1 findings (verify), or ledger entries that could not be
read (the answer may miss them; they are named on stderr); 2 usage or invalid input (a time, a
folder that is not a clone, a ref that is not a commit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from janus.cli.errors import EXIT_INVALID, EXIT_OK, EXIT_USAGE, CliError

if TYPE_CHECKING:
    from janus.audit import GitRepo

# -o/--output as every data-printing command has it (janus/cli/output.py), plus the table and
# csv an auditor asks for; --format is the same option under the name the ledger issue gave it.
FORMATS = ("table", "json", "yaml", "csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit", help="who had which access when, from a clone of the access repository "
                      "(`audit verify`: check the ledger against the history)",
        description="Who had (or had pending) which access at an instant or during a period, "
                    "approved by whom, why, how it ended, and the terminal sessions — read from "
                    "the ledger in a plain clone of the access repository.")
    _shared(audit, argparse.Namespace(repo=Path("."), ref="HEAD", ledger_ref=None,
                                      format="table"))
    when = audit.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="an instant (see below for TIME)")
    when.add_argument("--since", metavar="TIME", help="the start of a period")
    audit.add_argument("--until", metavar="TIME", help="the end of the period (default: now)")
    audit.add_argument("--cluster", metavar="C", help="only grants on this cluster")
    audit.add_argument("--namespace", metavar="N", help="only grants in this namespace")
    audit.add_argument("--user", metavar="U", help="only this requester (GitHub login)")
    audit.add_argument("--no-cache", action="store_true",
                       help="do not read or write the scan cache in the clone's git folder")
    audit.epilog = ("TIME: an RFC 3339 time (2026-11-30T14:00:00Z), a date (2026-11-30, midnight "
                    "UTC), 'now', or a time ago: -2h, -90m, -1d12h, -2w.")
    # "--at -2h": a value starting with "-<digit>" is a time ago, never an option (argparse
    # takes only plain negative numbers as values by default).
    audit._negative_number_matcher = re.compile(r"^-\d")
    audit.set_defaults(func=_audit)

    sub = audit.add_subparsers(dest="audit_command", metavar="verify")
    verify = sub.add_parser("verify", help="check the ledger is consistent with the history "
                                           "(exit 1 on findings)")
    _shared(verify, None)
    verify.add_argument("--bot", action="append", metavar="LOGIN",
                        help="the GitHub App's login that writes the ledger, e.g. janus[bot] "
                             "(repeatable; default: any …[bot] identity)")
    verify.set_defaults(func=_verify)


def _shared(parser: argparse.ArgumentParser, defaults: argparse.Namespace | None) -> None:
    """--repo/--ref/--ledger-ref/--format on `audit` and again on `audit verify` (there with
    no defaults, so `janus audit --repo X verify` keeps X)."""
    def default(name: str) -> object:
        return getattr(defaults, name) if defaults is not None else argparse.SUPPRESS

    parser.add_argument("--repo", type=Path, default=default("repo"), metavar="DIR",
                        help="a clone of the access repository (default: .)")
    parser.add_argument("--ref", default=default("ref"), metavar="REF",
                        help="the branch whose requests/ history is read (default: HEAD)")
    parser.add_argument("--ledger-ref", default=default("ledger_ref"), metavar="REF",
                        help="the branch holding ledger/ when it is not --ref (a dedicated "
                             "ledger branch, e.g. origin/janus-ledger)")
    parser.add_argument("-o", "--output", "--format", dest="format", choices=FORMATS,
                        default=default("format"), metavar="FORMAT",
                        help="table (default), json, yaml or csv")


def _print_document(json_text: str, fmt: str) -> None:
    """The JSON answer as it is, or the same document as YAML (janus/cli/output.py)."""
    if fmt == "json":
        print(json_text)
        return
    import json

    from janus.cli.output import emit

    emit(json.loads(json_text), "yaml")


def _repo(path: Path) -> GitRepo:
    from janus.audit import GitRepo, RepoError

    try:
        return GitRepo(path)
    except RepoError as exc:
        raise CliError(f"--repo: {exc}", EXIT_USAGE) from None


def _when(flag: str, text: str, now: dt.datetime) -> dt.datetime:
    from janus.audit import parse_when
    from janus.audit.timespec import BadTime

    try:
        return parse_when(text, now)
    except BadTime as exc:
        raise CliError(f"{flag}: {exc}", EXIT_USAGE) from None


def _audit(args: argparse.Namespace) -> int:
    from janus.audit import RepoError, query, render
    from janus.model import ledger

    now = dt.datetime.now(dt.UTC)
    if args.at is None and args.since is None:
        raise CliError("say when: --at TIME (an instant) or --since TIME [--until TIME] (a "
                       "period); or `janus audit verify`", EXIT_USAGE)
    if args.at is not None and args.until is not None:
        raise CliError("--until goes with --since, not with --at", EXIT_USAGE)
    if args.at is not None:
        window = query.Window.at(_when("--at", args.at, now))
    else:
        since = _when("--since", args.since, now)
        until = _when("--until", args.until, now) if args.until is not None else now
        if until < since:
            raise CliError(f"--until ({ledger.fmt_time(until)}) is before --since "
                           f"({ledger.fmt_time(since)}); a period that ends after it starts is "
                           "accepted", EXIT_USAGE)
        window = query.Window(since, until)
    filters = query.Filters(args.cluster, args.namespace, args.user)
    repo = _repo(args.repo)
    try:
        answer = query.audit(repo, window, filters, ref=args.ref, ledger_ref=args.ledger_ref,
                             use_cache=not args.no_cache)
    except RepoError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None

    if args.format in ("json", "yaml"):
        shown = {"at": ledger.fmt_time(window.since)} if window.instant else {
            "since": ledger.fmt_time(window.since), "until": ledger.fmt_time(window.until)}
        shown.update({k: v for k, v in (("cluster", args.cluster), ("namespace", args.namespace),
                                        ("user", args.user)) if v})
        _print_document(render.answer_json(answer, shown), args.format)
    elif args.format == "csv":
        sys.stdout.write(render.answer_csv(answer))
    elif answer.rows:
        print(render.answer_table(answer))
    else:
        when = (f"at {ledger.fmt_time(window.since)}" if window.instant else
                f"from {ledger.fmt_time(window.since)} to {ledger.fmt_time(window.until)}")
        print(f"nobody had or waited for access {when} ({answer.entries_total} ledger entries)",
              file=sys.stderr)
    for problem in answer.problems:
        print(f"janus audit: {problem}", file=sys.stderr)
    return EXIT_INVALID if answer.problems else EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from janus.audit import RepoError, render
    from janus.audit.verify import verify

    repo = _repo(args.repo)
    try:
        report = verify(repo, ref=args.ref, ledger_ref=args.ledger_ref, bots=args.bot)
    except RepoError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if args.format in ("json", "yaml"):
        _print_document(render.report_json(report), args.format)
    elif args.format == "csv":
        sys.stdout.write(render.report_csv(report))
    elif report.findings:
        print(render.report_table(report))
    checked = report.checked
    summary = (f"{checked['entries']} entries, {checked['merges']} merges, "
               f"{checked['removedFiles']} removed request files, {checked['ledgerCommits']} "
               "commits touching ledger/")
    writers = checked.get("ledgerWriters")
    if isinstance(writers, dict) and writers:
        summary += " (ledger written by " + ", ".join(
            f"{who}: {n}" for who, n in sorted(writers.items())) + ")"
    verdict = f"{len(report.findings)} finding(s)" if report.findings else "consistent"
    print(f"janus audit verify: {verdict}; checked {summary}", file=sys.stderr)
    return EXIT_INVALID if report.findings else EXIT_OK
