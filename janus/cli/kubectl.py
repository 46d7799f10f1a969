"""``kubectl-janus``: the kubectl plugin, so ``kubectl janus grants|request|revoke`` works.

kubectl finds a plugin by name on PATH: ``kubectl janus ARGS`` runs ``kubectl-janus ARGS``.
The plugin offers only what a kubectl user does with Janus (ask for access, see who has it,
take it away) and no server command; each behaves exactly as ``janus COMMAND``, same flags, same
output and exit codes, with ``kubectl janus`` in usage and error messages. kubectl passes the
plugin neither its own global flags nor its context, so ``--kubeconfig`` (or ``$KUBECONFIG``)
is how a plugin command picks the central cluster, as for ``janus``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

PLUGIN_MODULES: tuple[str, ...] = ("janus.cli.request", "janus.cli.revoke")


PROG = "kubectl janus"


def plugin_parser() -> argparse.ArgumentParser:
    from janus.cli import build_parser

    return build_parser(PROG, PLUGIN_MODULES)


def main(argv: Sequence[str] | None = None) -> int:
    """``kubectl-janus``: ``janus`` with the plugin's commands."""
    from janus.cli import main as janus_main

    return janus_main(argv, prog=PROG, modules=PLUGIN_MODULES)


def complete(argv: Sequence[str] | None = None) -> int:
    """``kubectl_complete-janus``: kubectl (1.26+) runs it for ``kubectl janus <TAB>``.

    It is called with the words after ``kubectl janus``, the last one being typed (possibly
    empty), and answers like a cobra ``__complete`` command: one candidate per line, then
    ``:<directive>`` (4: no file names; 0: the shell's default, e.g. for a flag's file).
    """
    from janus.cli.completion import candidates, walk

    words = list(sys.argv[1:] if argv is None else argv)
    nodes = walk(plugin_parser())
    found = candidates(nodes, words)
    for candidate in found:
        print(candidate)
    print(":4" if found else ":0")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
