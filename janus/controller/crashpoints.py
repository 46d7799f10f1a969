"""Deterministic crash points, for tests only.

``JANUS_TEST_CRASH_AFTER=<step>`` makes the controller process exit at once (``os._exit(137)``,
as a SIGKILL would) right after that step. Steps: ``serviceaccount``, ``rolebinding``, ``token``,
``secret`` (grant), ``cleanup`` (objects deleted, phase not yet written). The crash-safety tests
use it to prove that a restart converges without orphans; it must never be set in a deployment
(the Helm chart does not expose it).
"""

from __future__ import annotations

import os
import sys

ENV = "JANUS_TEST_CRASH_AFTER"


def reached(step: str) -> None:
    if os.environ.get(ENV) == step:
        sys.stderr.write(f'{{"event": "test.crash", "step": "{step}"}}\n')
        sys.stderr.flush()
        os._exit(137)
