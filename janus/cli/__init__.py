"""The `janus` command line.

Each subcommand lives in its own module and exposes ``register(subparsers)``; this module only
wires them together, so adding a command never touches another command's code. Modules import
their heavy dependencies inside the handler to keep `janus --help` fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from janus import __version__

# Modules that contribute subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "janus.cli.validate",
    "janus.cli.request",
    "janus.cli.revoke",
    "janus.cli.dev",
    "janus.cli.controller",
    "janus.cli.web",
    "janus.cli.webhook",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="janus",
        description="Just-in-time kubectl exec access to Kubernetes, run as a GitOps workflow.",
    )
    parser.add_argument("--version", action="version", version=f"janus {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
