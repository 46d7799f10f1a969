"""`janus revoke` and `janus grants`: take access away, and see who has it, from a terminal.

Revoking is what the web admin view does: one JSON merge patch of ``spec.revocation = {by,
reason, requestedAt}`` on the AccessRequest in the Janus namespace of the central cluster. The
CRD makes that field write-once (a changed revocation is refused with 422), so a second
revocation never rewrites who revoked and why: the command reports the existing one and exits 1.
The controller then removes the grant's objects and sets phase Revoked (``--wait`` waits for it).

``--by`` defaults to the identity the API server sees for the kubeconfig (SelfSubjectReview),
because that is who really did it; the OS login is the fallback when the server cannot say.

Exit codes: 0 done; 1 unknown, ambiguous, already revoked or ended, or ``--wait`` timed out;
2 the cluster could not be reached or refused us.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from janus import names, resource
from janus.cli.errors import CliError
from janus.cli.output import add_output_option, emit
from janus.resource import AccessRequestView

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CLUSTER = 2

_REASON_MAX = 500   # the CRD's limits on spec.revocation
_BY_MAX = 100


class AlreadyRevoked(CliError):
    """``spec.revocation`` is already set: reported, never rewritten (exit 1)."""


# -- arguments ------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    revoke = subparsers.add_parser(
        "revoke", help="revoke an active grant (write spec.revocation on its AccessRequest)")
    revoke.add_argument("target", metavar="NAME_OR_CR",
                        help="the AccessRequest name, or the request name (file stem)")
    revoke.add_argument("--reason", required=True, help="why (recorded on the grant, ≤ 500)")
    revoke.add_argument("--by", metavar="LOGIN",
                        help="who revokes (default: your identity as the API server sees it)")
    revoke.add_argument("--cluster", help="with a request name: its target cluster")
    revoke.add_argument("--namespace", help="with a request name: its namespace")
    revoke.add_argument("--wait", action="store_true",
                        help="wait until the controller reports phase Revoked")
    revoke.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long --wait waits (default 60)")
    _cluster_options(revoke)
    revoke.set_defaults(func=_revoke)

    grants = subparsers.add_parser("grants", help="list AccessRequests as a table")
    grants.add_argument("--all", action="store_true",
                        help="also ended grants (Expired, Revoked, Failed)")
    add_output_option(grants)
    _cluster_options(grants)
    grants.set_defaults(func=_grants)


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="kubeconfig of the central cluster (default: $KUBECONFIG, else "
                             "in-cluster, else ~/.kube/config)")
    parser.add_argument("--janus-namespace", default=names.JANUS_NAMESPACE, metavar="NS",
                        help=f"where the AccessRequests live (default {names.JANUS_NAMESPACE})")


# -- the cluster ----------------------------------------------------------------------------------


def api_client(kubeconfig: Path | None) -> Any:
    """The central cluster's client (:func:`janus.resource.kube.central_client`)."""
    from janus.resource.kube import NoCredentials, central_client

    try:
        return central_client(kubeconfig)
    except NoCredentials as exc:
        raise CliError(f"no usable kubeconfig — {exc}", EXIT_CLUSTER) from None


def _crs(api: Any, janus_ns: str) -> Any:
    from janus.resource.client import AccessRequestClient

    return AccessRequestClient(api, janus_ns)


def _api_error(exc: resource.AccessRequestError, doing: str) -> CliError:
    if isinstance(exc, resource.Forbidden):
        return CliError(f"the API server forbids {doing} ({exc.status}); your kubeconfig needs "
                        "get/list/patch on accessrequests.janus.dev", EXIT_CLUSTER)
    if isinstance(exc, resource.Unavailable) and exc.status is None:
        return CliError(f"the API server cannot be reached ({doing})", EXIT_CLUSTER)
    return CliError(f"the API server refused {doing} ({exc})", EXIT_CLUSTER)


def get_cr(api: Any, janus_ns: str, name: str) -> AccessRequestView | None:
    try:
        return _crs(api, janus_ns).find(name)
    except resource.AccessRequestError as exc:
        raise _api_error(exc, f"reading AccessRequest {name}") from None


def list_crs(api: Any, janus_ns: str) -> list[AccessRequestView]:
    try:
        return list(_crs(api, janus_ns).list())
    except resource.NotFound:  # the CRD is not installed: there is nothing to list
        raise CliError(f"no AccessRequest resource on this cluster (is Janus installed "
                       f"here, in namespace {janus_ns}?)", EXIT_CLUSTER) from None
    except resource.AccessRequestError as exc:
        raise _api_error(exc, f"listing AccessRequests in {janus_ns}") from None


# -- finding and revoking -------------------------------------------------------------------------


def find_cr(api: Any, janus_ns: str, target: str, cluster: str | None = None,
            namespace: str | None = None) -> AccessRequestView:
    """The CR named *target*, else the one whose requestName (and cluster/namespace) match."""
    def fits(cr: AccessRequestView) -> bool:
        return ((cluster is None or cr.cluster == cluster)
                and (namespace is None or cr.namespace == namespace))

    found = get_cr(api, janus_ns, target)
    if found is not None and fits(found):
        return found
    if cluster and namespace:
        found = get_cr(api, janus_ns, names.access_request_name(cluster, namespace, target))
        if found is not None:
            return found
    matches = [cr for cr in list_crs(api, janus_ns)
               if cr.request_name == target and fits(cr)]
    if len(matches) == 1:
        return matches[0]
    scope = "".join(f" {flag} {value}" for flag, value in
                    (("--cluster", cluster), ("--namespace", namespace)) if value)
    if not matches:
        raise CliError(f"no grant named {target!r}{scope} in namespace {janus_ns}; an "
                       "AccessRequest name or a request name (the file stem) is accepted — "
                       "see `janus grants --all`")
    listed = ", ".join(f"{c.name} ({c.cluster}/{c.namespace})" for c in matches)
    raise CliError(f"{target!r} names {len(matches)} grants: {listed}; give the "
                   "AccessRequest name, or --cluster and --namespace")


def _describe_revocation(cr: AccessRequestView) -> str:
    revocation = cr.revocation or resource.Revocation()
    when = revocation.requested_at_text or "an unknown time"
    reason = revocation.reason or "no reason given"
    return (f"{cr.name} was already revoked by {revocation.by or '?'} at {when} "
            f"({reason!r}; phase {cr.phase}); a revocation is recorded once and never changed")


def _ended(cr: AccessRequestView) -> CliError:
    return CliError(f"{cr.name} has already ended (phase {cr.phase}); there is no access left "
                    "to revoke")


def patch_revocation(api: Any, janus_ns: str, name: str, by: str, reason: str,
                     now: dt.datetime) -> None:
    """Write the revocation (:meth:`AccessRequestClient.request_revocation`, which also turns
    the CRD's 422 for a revocation that landed after our read into AlreadyRevoked)."""
    try:
        _crs(api, janus_ns).request_revocation(name, by, reason, now, via="cli")
    except resource.AlreadyRevoked as exc:
        # Someone revoked it first: report theirs, keep it.
        raise AlreadyRevoked(_describe_revocation(exc.current) if exc.current else str(exc)
                             ) from None
    except resource.GrantEnded as exc:
        raise (_ended(exc.current) if exc.current else CliError(str(exc))) from None
    except resource.NotFound:
        raise CliError(f"AccessRequest {name} disappeared while being revoked") from None
    except resource.AccessRequestError as exc:
        raise _api_error(exc, f"revoking AccessRequest {name}") from None


def revoke(api: Any, janus_ns: str, cr: AccessRequestView, by: str, reason: str,
           now: dt.datetime) -> None:
    if cr.revocation_requested:
        raise AlreadyRevoked(_describe_revocation(cr))
    if cr.terminal:
        raise _ended(cr)
    patch_revocation(api, janus_ns, cr.name, by, reason, now)


def wait_revoked(api: Any, janus_ns: str, name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        cr = get_cr(api, janus_ns, name)
        if cr is None or cr.phase == "Revoked":
            return True  # gone counts: nothing is left to use
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def whoami(api: Any) -> str | None:
    """The user name the API server authenticates us as, or None if it cannot say."""
    from kubernetes import client

    try:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1",
                                       kind="SelfSubjectReview"))
    except Exception:  # an old server, or RBAC without selfsubjectreviews: fall back
        return None
    user = review.status.user_info if review.status is not None else None
    return (user.username or None) if user is not None else None


def _revocation_by(args: argparse.Namespace, api: Any) -> str:
    import getpass

    by = (args.by or "").strip()
    if args.by is not None and not by:
        raise CliError("--by is empty; a login or name (1..100 characters) is accepted")
    if not by:
        by = whoami(api) or getpass.getuser()
    if len(by) > _BY_MAX:
        raise CliError(f"--by is {len(by)} characters; at most {_BY_MAX} are accepted")
    return by


def _revoke(args: argparse.Namespace) -> int:
    reason = " ".join(args.reason.split())
    if not reason:
        raise CliError("--reason is empty; say why (1..500 characters) — it is recorded on the "
                       "grant for the audit")
    if len(reason) > _REASON_MAX:
        raise CliError(f"--reason is {len(reason)} characters; at most {_REASON_MAX} are "
                       "accepted")
    api = api_client(args.kubeconfig)
    by = _revocation_by(args, api)
    cr = find_cr(api, args.janus_namespace, args.target, args.cluster, args.namespace)
    name = cr.name
    revoke(api, args.janus_namespace, cr, by, reason, dt.datetime.now(dt.UTC))
    print(f"revocation recorded: {name} ({cr.requester} in {cr.cluster}/{cr.namespace}) "
          f"by {by}")
    if args.wait:
        if not wait_revoked(api, args.janus_namespace, name, args.timeout):
            raise CliError(f"the revocation of {name} is recorded, but the controller did not "
                           f"report phase Revoked within {args.timeout:g}s (is it running?)")
        print(f"{name}: Revoked")
    return EXIT_OK


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    requester: str
    cluster: str
    namespace: str
    phase: str
    expires_in: str


def format_remaining(expires_at: dt.datetime | None, now: dt.datetime) -> str:
    if expires_at is None:
        return "-"
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def row_of(cr: AccessRequestView, now: dt.datetime) -> Row:
    phase = cr.phase
    if cr.revocation_requested and not cr.terminal:
        phase = "Revoking"  # recorded, the controller has not finished removing it yet
    remaining = "-" if cr.terminal else format_remaining(cr.expires_at, now)
    return Row(cr.name, cr.requester, cr.cluster, cr.namespace, phase, remaining)


def table(rows: list[Row]) -> str:
    header = Row("NAME", "REQUESTER", "CLUSTER", "NAMESPACE", "PHASE", "EXPIRES IN")
    cells = [[str(v) for v in vars(r).values()] for r in [header, *rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in cells)


def grant_data(cr: AccessRequestView, row: Row) -> dict[str, Any]:
    """One grant for ``-o json|yaml``: the table's columns plus the times behind them."""
    from janus.resource import timefmt

    def when(moment: dt.datetime | None) -> str | None:
        return None if moment is None else timefmt.fmt(moment)

    return {
        "name": row.name, "requester": row.requester, "cluster": row.cluster,
        "namespace": row.namespace, "role": cr.role, "phase": row.phase,
        "grantedAt": when(cr.granted_at), "expiresAt": when(cr.expires_at),
        "expiresIn": None if row.expires_in == "-" else row.expires_in,
        "revokedBy": cr.revoked_by, "revokedAt": when(cr.revoked_at),
    }


def _grants(args: argparse.Namespace) -> int:
    api = api_client(args.kubeconfig)
    crs = list_crs(api, args.janus_namespace)
    now = dt.datetime.now(dt.UTC)
    pairs = [(cr, row_of(cr, now)) for cr in crs]
    if not args.all:
        pairs = [(c, r) for c, r in pairs
                 if r.phase in resource.LIVE_PHASES or r.phase == "Revoking"]
    pairs.sort(key=lambda p: (p[1].phase in resource.TERMINAL_PHASES, p[1].cluster,
                              p[1].namespace, p[1].name))
    if getattr(args, "output", None):
        emit({"grants": [grant_data(cr, row) for cr, row in pairs]}, args.output)
        return EXIT_OK
    rows = [row for _, row in pairs]
    if not rows:
        print("no grants" + ("" if args.all else " live (--all shows ended ones too)"),
              file=sys.stderr)
        return EXIT_OK
    print(table(rows))
    return EXIT_OK
