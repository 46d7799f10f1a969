"""A test bed for the GitOps loop: the GitHub simulator with an access repository seeded from this
project's own policies/ and CODEOWNERS, the Janus App installed on it, and the real control
plane's API server with the AccessRequest CRD.

People (all in org ``acme``): alice (payments-devs, the usual requester), bob and carol
(payments-leads: approvers of prod/payments), root (org admin, sre: Janus admin), sam (sre),
dave (write access, in no team: a stranger), rita (payments-leads but only read access).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from janus import names, resource
from janus.gitops.client import GitHubSettings, connect
from janus.gitops.crs import AccessRequests
from janus.gitops.metrics import Counters
from janus.gitops.service import GitOps
from janus.model import load_config_file
from tests.k8s_helpers import raw_access_request

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = ("alice", "bob", "carol", "root", "sam", "dave", "rita")


def template_files() -> dict[str, str]:
    files = {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "policies").glob("*.yaml")}
    files[".github/CODEOWNERS"] = (ROOT / ".github" / "CODEOWNERS").read_text()
    files["requests/README.md"] = "Access requests live here.\n"
    return files


@dataclass
class Bed:
    sim: Any
    app_id: int
    app_key: str
    bot: str
    repo: str = ""
    installation_id: int = 0
    counters: Counters = field(default_factory=Counters)

    def settings(self) -> GitHubSettings:
        return GitHubSettings(api_url=self.sim.base_url, app_id=self.app_id,
                              app_key=self.app_key, installation_id=self.installation_id,
                              throttle=False, timeout=10)


def setup_people(sim: Any) -> None:
    for login in PEOPLE:
        sim.add_user(login)
    sim.add_org("acme", admins=["root"])
    sim.add_team("acme", "payments-devs", members=["alice"])
    sim.add_team("acme", "payments-leads", members=["bob", "carol", "rita"])
    sim.add_team("acme", "sre", members=["root", "sam"])


def new_repo(sim: Any, *, extra_files: dict[str, str] | None = None) -> str:
    name = f"access-{uuid.uuid4().hex[:8]}"
    return sim.create_repo(
        "acme", name, files={**template_files(), **(extra_files or {})}, default_branch="main",
        collaborators={"alice": "write", "bob": "write", "carol": "write", "dave": "write",
                       "root": "admin", "sam": "write", "rita": "read"},
    )


def request_name(prefix: str = "alice") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def request_yaml(name: str, *, requester: str = "alice", cluster: str = "prod",
                 namespace: str = "payments", duration: str = "1h",
                 reason: str = "INC-1234: worker stuck on payments",
                 ticket: str | None = "INC-1234") -> str:
    lines = [
        "apiVersion: janus.dev/v1alpha1",
        "kind: AccessRequest",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  requester: {requester}",
        f"  cluster: {cluster}",
        f"  namespace: {namespace}",
        "  role: pod-exec",
        f"  duration: {duration}",
        f'  reason: "{reason}"',
    ]
    if ticket:
        lines.append(f"  ticket: {ticket}")
    return "\n".join(lines) + "\n"


def request_path(name: str, cluster: str = "prod", namespace: str = "payments") -> str:
    return f"requests/{cluster}/{namespace}/{name}.yaml"


def cr_name(name: str, cluster: str = "prod", namespace: str = "payments") -> str:
    return names.access_request_name(cluster, namespace, name)


def open_request_pr(sim: Any, repo: str, name: str, *, author: str = "alice",
                    files: dict[str, str | None] | None = None, **fields: Any) -> int:
    branch = f"req/{name}"
    content = files if files is not None else {
        request_path(name, fields.get("cluster", "prod"), fields.get("namespace", "payments")):
            request_yaml(name, **fields)}
    sim.push(repo, branch, content, author=author, message=f"Request {name}", base="main")
    return sim.create_pull(repo, head=branch, title=f"Access request {name}", author=author)


def granted_request(bed: Bed, gitops: GitOps) -> tuple[str, int]:
    """alice's request PR, approved by bob, merged by root and processed: (name, PR number)."""
    name = request_name()
    number = open_request_pr(bed.sim, bed.repo, name)
    bed.sim.review(bed.repo, number, "bob", "APPROVE")
    bed.sim.merge(bed.repo, number, actor="root")
    gitops.process_merge(number)
    return name, number


def install_crd(api: Any) -> None:
    """Apply the AccessRequest CRD (engineer C's single source) and the janus namespace."""
    from janus.resource.crd import access_request_crd

    ext = client.ApiextensionsV1Api(api)
    crd = access_request_crd()
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = ext.read_custom_resource_definition(crd["metadata"]["name"])
        conditions = {c.type: c.status for c in (got.status.conditions or [])}
        if conditions.get("Established") == "True":
            break
        time.sleep(0.2)
    core = client.CoreV1Api(api)
    for ns in (names.JANUS_NAMESPACE, names.TOKENS_NAMESPACE):
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        except ApiException as exc:
            if exc.status != 409:
                raise
    # The CR list endpoint answers only once the CRD is served; wait for it.
    custom = client.CustomObjectsApi(api)
    while time.monotonic() < deadline:
        try:
            custom.list_namespaced_custom_object(resource.GROUP, resource.VERSION,
                                                 names.JANUS_NAMESPACE, resource.PLURAL)
            return
        except ApiException:
            time.sleep(0.2)


def raw_cr(api: Any, name: str, namespace: str = names.JANUS_NAMESPACE) -> dict[str, Any] | None:
    """The AccessRequest *name* exactly as the API server stores it (None if absent): the tests
    assert the receiver's wire format, not only what the view reads of it."""
    return raw_access_request(api, namespace, name)


def make_gitops(bed: Bed, api: Any) -> GitOps:
    gh = connect(bed.settings())
    return GitOps(gh, bed.repo, AccessRequests(api), load_config_file(ROOT / "policies" /
                                                                       "janus.yaml"),
                  janus_login=bed.bot, app_id=bed.app_id, counters=bed.counters)


def comments_of(sim: Any, repo: str, number: int) -> list[str]:
    from github import Auth, Github

    gh = Github(auth=Auth.Token(sim.token("root")), base_url=sim.base_url, retry=None,
                seconds_between_requests=None, seconds_between_writes=None)
    return [c.body for c in gh.get_repo(repo).get_pull(number).get_issue_comments()]
