"""``janus completion bash|zsh``: a shell completion script generated from the argparse parser.

Why generated here and not argcomplete: argcomplete starts Python (and imports the whole CLI)
on every TAB and needs a run-time dependency plus a registration step; this script is plain
shell, answers instantly, and is made from the same parser ``janus`` parses with, so it always
matches the installed version (regenerate it after an upgrade). It completes commands,
subcommands, options and the values of options with fixed choices (``-o json|yaml``,
``--format``); anything else falls back to file names. It does not ask the cluster for grant
names. zsh uses the same function through zsh's ``bashcompinit``.

    source <(janus completion bash)                 # or write it to
                                                    # /etc/bash_completion.d/janus
    janus completion zsh > "${fpath[1]}/_janus"     # zsh, then restart the shell
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

SHELLS = ("bash", "zsh")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion", help="print a shell completion script (bash or zsh)",
        description="Print a completion script for janus and kubectl-janus. bash: "
                    "`source <(janus completion bash)`; zsh: "
                    "`janus completion zsh > \"${fpath[1]}/_janus\"`.")
    parser.add_argument("shell", choices=SHELLS)
    parser.set_defaults(func=_run)


@dataclass
class Node:
    """One (sub)command: what may follow it."""

    subcommands: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    valued: list[str] = field(default_factory=list)  # options that take the next word
    choices: dict[str, list[str]] = field(default_factory=dict)  # option -> its values


def walk(parser: argparse.ArgumentParser, path: str = "") -> dict[str, Node]:
    """Command path ("" for the top, "dev up") -> its :class:`Node`, for the whole tree."""
    nodes = {path: Node()}
    node = nodes[path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                node.subcommands.append(name)
                nodes.update(walk(sub, f"{path} {name}".strip()))
        elif not action.option_strings and action.choices:  # a positional with fixed values
            node.subcommands.extend(str(c) for c in action.choices)
        elif action.option_strings:
            node.options.extend(action.option_strings)
            if action.nargs != 0:
                node.valued.extend(action.option_strings)
                if action.choices:
                    for option in action.option_strings:
                        node.choices[option] = [str(c) for c in action.choices]
    return nodes


def _case(arms: dict[str, str]) -> str:
    empty = '""'  # shlex.quote("") gives '' which is fine too; "" reads better in a case arm
    lines = [f"        {shlex.quote(key) if key else empty}) echo {shlex.quote(value)} ;;"
             for key, value in arms.items() if value]
    return "\n".join(lines)


def candidates(nodes: dict[str, Node], words: list[str]) -> list[str]:
    """What may come next after *words* (the last one being typed), as the bash script does it.

    ``kubectl-janus``'s completion for kubectl (``kubectl_complete-janus``) answers with this."""
    *done, current = words or [""]
    path, skip = "", False
    for word in done:
        node = nodes.get(path, Node())
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = "=" not in word and word in node.valued
        elif word in node.subcommands and f"{path} {word}".strip() in nodes:
            path = f"{path} {word}".strip()
    node = nodes.get(path, Node())
    previous = done[-1] if done else ""
    if previous in node.choices:
        pool = node.choices[previous]
    elif previous in node.valued:
        return []
    elif current.startswith("-"):
        pool = node.options
    else:
        pool = node.subcommands
    return [c for c in pool if c.startswith(current)]


def bash_script(parser: argparse.ArgumentParser, version: str, command: str = "janus") -> str:
    """The bash completion of *command* (``janus``, ``kubectl-janus``) for *parser*'s tree."""
    nodes = walk(parser)
    fn = "_" + command.replace("-", "_")
    subs = {path: " ".join(n.subcommands) for path, n in nodes.items()}
    opts = {path: " ".join(n.options) for path, n in nodes.items()}
    valued = {path: " ".join(n.valued) for path, n in nodes.items()}
    choices = {f"{path}|{option}": " ".join(values)
               for path, n in nodes.items() for option, values in n.choices.items()}
    return f"""\
# bash completion for {command}: `janus completion bash` (janus {version}).
{fn}_subs() {{
    case "$1" in
{_case(subs)}
    esac
}}
{fn}_opts() {{
    case "$1" in
{_case(opts)}
    esac
}}
{fn}_valued() {{
    case "$1" in
{_case(valued)}
    esac
}}
{fn}_choices() {{
    case "$1|$2" in
{_case(choices)}
    esac
}}
{fn}_complete() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" path="" word i skip=0
    (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    # The command path so far: words that name a subcommand, skipping options and their values.
    for (( i = 1; i < COMP_CWORD; i++ )); do
        word="${{COMP_WORDS[i]}}"
        if (( skip )); then skip=0; continue; fi
        case "$word" in
            -*=*) continue ;;
            -*) [[ " $({fn}_valued "$path") " == *" $word "* ]] && skip=1; continue ;;
        esac
        [[ " $({fn}_subs "$path") " == *" $word "* ]] && path="${{path:+$path }}$word"
    done
    COMPREPLY=()
    local values
    values="$({fn}_choices "$path" "$prev")"
    if [[ -n "$values" ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur"); return 0
    fi
    # The value of another option (a file, a name): bash's default completion (-o default).
    [[ " $({fn}_valued "$path") " == *" $prev "* ]] && return 0
    if [[ "$cur" == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$({fn}_opts "$path")" -- "$cur"); return 0
    fi
    mapfile -t COMPREPLY < <(compgen -W "$({fn}_subs "$path")" -- "$cur")
    return 0
}}
complete -o default -F {fn}_complete {command}
"""


def scripts(shell: str, version: str) -> str:
    """The completion of ``janus`` and of ``kubectl-janus`` (its own, smaller command tree)."""
    from janus.cli import build_parser
    from janus.cli.kubectl import plugin_parser

    text = (bash_script(build_parser(), version)
            + bash_script(plugin_parser(), version, "kubectl-janus"))
    if shell == "zsh":
        text = zsh_script(text, version)
    return text


def zsh_script(bash_text: str, version: str) -> str:
    return (f"#compdef janus kubectl-janus\n"
            f"# zsh completion for janus, generated by `janus completion zsh` (janus {version}):\n"
            f"# the bash functions below, run by zsh's bashcompinit.\n"
            f"autoload -U +X bashcompinit && bashcompinit\n"
            + bash_text)


def _run(args: argparse.Namespace) -> int:
    from janus import __version__

    sys.stdout.write(scripts(args.shell, __version__))
    return 0
