"""The `janus` command line.

Each command group lives in its own module of this package and exposes ``register(subparsers)``;
this module only wires them together, so adding a command never touches another command's code.
Modules import their heavy dependencies inside the handler to keep `janus --help` fast.

A handler returns its exit status, or raises :class:`janus.cli.errors.CliError`, which
:func:`main` turns into ``janus <command>: <message>`` on stderr and that error's status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from janus import __version__
from janus.cli.errors import EXIT_USAGE, CliError

# Modules that contribute subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "janus.cli.validate",
    "janus.cli.request",
    "janus.cli.revoke",
    "janus.cli.break_glass",
    "janus.cli.audit",
    "janus.cli.dev",
    "janus.cli.controller",
    "janus.cli.web",
    "janus.cli.webhook",
    "janus.cli.db",
    "janus.cli.completion",
)
DESCRIPTION = "Just-in-time kubectl exec access to Kubernetes, run as a GitOps workflow."


def build_parser(prog: str = "janus",
                 modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The parser of *prog* with the commands of *modules* (``kubectl janus`` takes a few)."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"janus {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    _name_commands(parser)
    return parser


def _name_commands(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)parser a ``command_prog`` default: its ``prog``, e.g. ``janus dev up``.

    argparse copies a subparser's defaults over its parent's, so after parsing the innermost
    command's name wins; :func:`main` prefixes a :class:`CliError` message with it.
    """
    parser.set_defaults(command_prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _name_commands(sub)


def main(argv: Sequence[str] | None = None, *, prog: str = "janus",
         modules: Sequence[str] = COMMAND_MODULES) -> int:
    parser = build_parser(prog, modules)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        if str(exc):
            print(f"{args.command_prog}: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
