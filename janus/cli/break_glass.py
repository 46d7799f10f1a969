"""``janus break-glass``: emergency access when GitHub itself is down, for cluster admins.

Creates the AccessRequest directly on the central cluster through the admission rules' explicit
admin path (docs/security.md; :mod:`janus.resource.admission`): only members of the group
``janus:break-glass`` (or ``system:masters``) may create one without a merged PR, and it must
carry the annotation ``janus.dev/created-by-admin`` (who and why), which this command writes.
The grant is labelled ``janus.dev/break-glass: "true"``. The request is judged first against a
local checkout of the access repository (``--repo``) exactly like a break-glass file: a policy's
``breakGlass`` must list the requester and the duration must be within its ``maxDuration``.
Once GitHub answers again, the receiver's reconcile opens the retrospective review
(:mod:`janus.gitops.break_glass`).

Exit codes: 0 created; 1 refused by the policies; 2 the cluster could not be reached or refused
(a non-admin gets the admission policy's refusal).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from janus import names
from janus.cli.errors import CliError

EXIT_REFUSED = 1
EXIT_CLUSTER = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "break-glass",
        help="cluster admins, GitHub down: create a break-glass AccessRequest directly")
    parser.add_argument("--requester", required=True, metavar="LOGIN",
                        help="GitHub login of the person who gets access")
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--role", default="pod-exec")
    parser.add_argument("--duration", required=True,
                        help="Go-style duration, at most the policy's breakGlass.maxDuration")
    parser.add_argument("--reason", required=True, help="why (10..500 characters)")
    parser.add_argument("--ticket", default="")
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR",
                        help="a checkout of the access repository (its policies/ judge this)")
    parser.add_argument("--members", type=Path, metavar="FILE",
                        help="team membership YAML (GitHub is down; default: users only)")
    parser.add_argument("--by", metavar="NAME",
                        help="who creates it (default: your identity as the API server sees it)")
    parser.add_argument("--kubeconfig", type=Path, metavar="FILE",
                        help="kubeconfig of the central cluster (an identity in the group "
                             "janus:break-glass)")
    parser.add_argument("--janus-namespace", default=names.JANUS_NAMESPACE, metavar="NS")
    parser.set_defaults(func=_run)


def request_name(requester: str, now: dt.datetime) -> str:
    """``bg-<requester>-<yyyymmddhhmmss>``: says what it is, unique enough, a DNS label."""
    return f"bg-{requester.lower()}-{now:%Y%m%d%H%M%S}"[:63].rstrip("-")


def judge(args: argparse.Namespace, name: str) -> Any:
    """The break-glass request as a file would say it, judged by the checkout's policies."""
    import yaml

    from janus.model import ConfigError, load_policy_set, load_request
    from janus.policy import NO_MEMBERSHIP, StaticMembership, evaluate

    spec: dict[str, Any] = {"requester": args.requester, "cluster": args.cluster,
                            "namespace": args.namespace, "role": args.role,
                            "duration": args.duration, "reason": args.reason,
                            "breakGlass": True}
    if args.ticket:
        spec["ticket"] = args.ticket
    path = f"requests/{args.cluster}/{args.namespace}/{name}.yaml"
    text = yaml.safe_dump({"apiVersion": "janus.dev/v1alpha1", "kind": "AccessRequest",
                           "metadata": {"name": name}, "spec": spec}, sort_keys=False)
    try:
        policies = load_policy_set(args.repo)
    except ConfigError as exc:
        raise CliError(f"the policies in {args.repo} do not load:\n{exc}", EXIT_REFUSED) from None
    request, problems = load_request(path, text.encode())
    if request is None:
        raise CliError(_problems(problems), EXIT_REFUSED)
    try:
        members = StaticMembership.from_file(args.members) if args.members else NO_MEMBERSHIP
    except (OSError, ValueError) as exc:
        raise CliError(f"--members: {exc}", EXIT_REFUSED) from None
    decision = evaluate(request, policies, members)
    if not decision.allowed:
        raise CliError(_problems(decision.problems), EXIT_REFUSED)
    return request


def _problems(problems: list[Any]) -> str:
    lines = "\n".join(f"  {p.rule}: {p.message}" for p in problems)
    return f"break-glass refused; nothing was created:\n{lines}"


def _run(args: argparse.Namespace) -> int:
    from janus.cli.revoke import api_client, whoami
    from janus.model import format_duration

    now = dt.datetime.now(dt.UTC)
    name = request_name(args.requester, now)
    request = judge(args, name)
    api = api_client(args.kubeconfig)
    by = (args.by or "").strip() or whoami(api) or "unknown"
    cr_name = names.access_request_name(request.cluster, request.namespace, request.name)
    spec: dict[str, Any] = {
        "requestName": request.name, "requester": request.requester,
        "cluster": request.cluster, "namespace": request.namespace, "role": request.role,
        "duration": format_duration(request.duration), "reason": request.reason,
    }
    if request.ticket:
        spec["ticket"] = request.ticket
    create(api, args.janus_namespace, cr_name, spec, by, request.reason)
    print(f"created AccessRequest {cr_name} (break-glass, {format_duration(request.duration)}) "
          f"for {request.requester} in {request.cluster}/{request.namespace}; the controller "
          "grants it now, and the retrospective review opens on GitHub when it answers again")
    return 0


def create(api: Any, janus_ns: str, cr_name: str, spec: dict[str, Any], by: str,
           reason: str) -> None:
    """Create the CR through the admin path: the annotation says who and why."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    from janus import resource
    from janus.resource.admission import ADMIN_ANNOTATION

    body = {
        "apiVersion": f"{resource.GROUP}/{resource.VERSION}", "kind": "AccessRequest",
        "metadata": {
            "name": cr_name, "namespace": janus_ns,
            "labels": {names.LABEL_CLUSTER: spec["cluster"],
                       names.LABEL_MANAGED_BY: names.MANAGED_BY,
                       names.LABEL_BREAK_GLASS: "true"},
            "annotations": {ADMIN_ANNOTATION: f"{by}: {reason}"[:1000]},
        },
        "spec": spec,
    }
    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, janus_ns, resource.PLURAL, body)
    except ApiException as exc:
        if exc.status in (401, 403):
            raise CliError(
                "the API server refused to create the AccessRequest "
                f"({exc.status}): only cluster admins (group janus:break-glass or "
                "system:masters) may create one without a merged PR"
                + _message(exc), EXIT_CLUSTER) from None
        raise CliError(f"the API server refused the AccessRequest ({exc.status})"
                       + _message(exc), EXIT_CLUSTER) from None


def _message(exc: Any) -> str:
    import json

    try:
        return ": " + str(json.loads(exc.body or "{}").get("message", ""))[:300]
    except ValueError:
        return ""

