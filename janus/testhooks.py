"""Test-only switches, all in one place. Every switch is inert unless its ``JANUS_TEST_*``
environment variable is set; the Helm chart sets none of them, so a deployment never reaches one.

* ``JANUS_TEST_CRASH_AFTER=<step>``: the controller process exits at once (``os._exit(137)``, as a
  SIGKILL would) right after that step of a grant. Steps: ``serviceaccount``, ``rolebinding``,
  ``token``, ``secret`` (grant), ``cleanup`` (objects deleted, phase not yet written). The
  crash-safety tests use it to prove that a restart converges without orphans. The receiver has
  one step, ``merge-comment``: a merge's AccessRequests are written, its comment not yet posted.
* ``JANUS_TEST_MIN_DURATION=<duration>`` (e.g. ``1s``): the controller lowers the policy's
  ``duration.min`` to it. ``JanusConfig`` rightly refuses a minimum below the 10-minute token
  minimum, but the expiry tests and the grant benchmark need grants of seconds.
* ``JANUS_TEST_DELIVERY_DELAY=<seconds>``: the receiver's workers wait this long before handling
  each delivery they claimed, so a test can kill a replica while it holds deliveries.

This module is a leaf: any module may import it, so it imports nothing of Janus. A new test-only
switch belongs here, named ``JANUS_TEST_*``, and nowhere else.
"""

from __future__ import annotations

import os
import sys

CRASH_AFTER_ENV = "JANUS_TEST_CRASH_AFTER"
MIN_DURATION_ENV = "JANUS_TEST_MIN_DURATION"
DELIVERY_DELAY_ENV = "JANUS_TEST_DELIVERY_DELAY"

CRASH_STEPS = ("serviceaccount", "rolebinding", "token", "secret", "cleanup")
RECEIVER_CRASH_STEPS = ("merge-comment",)


def crash_point(step: str) -> None:
    """Exit the process at once if ``JANUS_TEST_CRASH_AFTER`` names ``step``; else do nothing."""
    if os.environ.get(CRASH_AFTER_ENV) == step:
        # One JSON line like every other controller line, so the tests can see where it stopped.
        sys.stderr.write(f'{{"event": "test.crash", "step": "{step}"}}\n')
        sys.stderr.flush()
        os._exit(137)


def min_duration_override() -> str | None:
    """The ``JANUS_TEST_MIN_DURATION`` text (unparsed, e.g. ``"1s"``), or None when it is unset.

    The caller parses it with ``janus.model.parse_duration``: this module stays a leaf.
    """
    return os.environ.get(MIN_DURATION_ENV) or None


def delivery_delay() -> None:
    """Sleep ``JANUS_TEST_DELIVERY_DELAY`` seconds if it is set (a slow delivery handler)."""
    delay = os.environ.get(DELIVERY_DELAY_ENV)
    if delay:
        import time

        time.sleep(float(delay))
