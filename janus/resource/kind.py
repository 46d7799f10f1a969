"""What the AccessRequest is called on the API server, and the phases its status may hold.

These are the coordinates every process uses to reach the CR (group, version, plural), and the
one definition of its lifecycle phases: ``status.phase`` is the CRD's enum :data:`PHASES`; a CR
without a phase is Approved (the receiver creates CRs only after verifying the approval).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP = "janus.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "AccessRequest"
PLURAL = "accessrequests"

# status.phase of an AccessRequest (the CRD's enum); a CR without a phase is Approved.
PHASES = ("Approved", "Active", "Expired", "Revoked", "Failed")
LIVE_PHASES = frozenset({"Approved", "Active"})
# Final: a grant in one of these never comes back.
TERMINAL_PHASES = frozenset({"Expired", "Revoked", "Failed"})


def phase_of(cr: Mapping[str, Any]) -> str:
    """The AccessRequest's ``status.phase``; Approved when it has none yet."""
    status = cr.get("status")
    phase = status.get("phase") if isinstance(status, Mapping) else None
    return str(phase) if phase else "Approved"
