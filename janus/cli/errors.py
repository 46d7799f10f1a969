"""The one error type of the command line: a refusal already worded for the user.

A command raises :class:`CliError` with the sentence to show and the exit status;
:func:`janus.cli.main` catches it once, prints ``janus <command>: <message>`` on stderr (nothing
when the command has already printed its problems and the message is empty) and returns the code.
Exit statuses are the documented ones of each command: 0 done, 1 refused or invalid, 2 usage,
configuration or cluster error.
"""

from __future__ import annotations

from janus.errors import JanusError

EXIT_OK = 0
EXIT_INVALID = 1  # refused: bad input, a judge said no, the state does not allow it
EXIT_USAGE = 2    # usage or configuration error, or a dependency (cluster, GitHub) refused us


class CliError(JanusError):
    """Stop the command with *message* (may be empty: already printed) and exit status *code*."""

    def __init__(self, message: str = "", code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code
