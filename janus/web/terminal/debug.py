"""The debug flow of ``pod-debug`` grants (issue 13 item 1): an ephemeral container from the
role's image allow-list, added to a pod with the grant's own token, then a terminal attached to
it (``pods/attach``; the WebSocket route checks with :func:`is_ephemeral` that the container is
one of the pod's ephemeral containers — the role never attaches to the pod's own containers).

The image is checked here against ``images`` of the grant's role in the JanusConfig — the
API server cannot (RBAC does not look inside the patch) — and the patch names only the fields
below: no securityContext, no volume mounts, no environment, so the debug container runs with
the pod's defaults. On kwok nothing runs the container: the API server accepts the patch and
the attach, and kwok's attach streams a file (docs/web-and-terminal.md, "Debug containers").
"""

from __future__ import annotations

import re
import secrets

from janus.model import PolicySet
from janus.web.terminal.cluster_call import PodListError, call_cluster
from janus.web.terminal.grants import GrantCredentials
from janus.web.terminal.logs import CONTAINER_NAME, POD_NAME

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}")


def allowed_images(policies: PolicySet | None, role: str) -> tuple[str, ...]:
    """The debug images the role allows (empty: the role starts no debug container)."""
    if policies is None:
        return ()
    definition = policies.config.role_definitions.get(role)
    return definition.images if definition is not None else ()


def check_request(pod: str, container: str, image: str, allowed: tuple[str, ...]) -> None:
    """Refuse (PodListError 400) anything but a valid pod/container and an allowed image."""
    if not POD_NAME.fullmatch(pod):
        raise PodListError(400, "pod: a pod name (DNS-1123 subdomain) is accepted")
    if not CONTAINER_NAME.fullmatch(container):
        raise PodListError(400, "container: a container name (DNS-1123 label) is accepted")
    if not allowed:
        raise PodListError(403, "this grant's role starts no debug containers")
    if not IMAGE.fullmatch(image) or image not in allowed:
        raise PodListError(400, f"image: one of {', '.join(allowed)} is accepted")


async def add_debug_container(credentials: GrantCredentials, namespace: str, pod: str,
                              container: str, image: str) -> str:
    """Add the ephemeral container; return its name. PodListError carries the cluster's status."""
    name = f"janus-debug-{secrets.token_hex(3)}"
    body = {"spec": {"ephemeralContainers": [{
        "name": name, "image": image, "targetContainerName": container,
        "stdin": True, "tty": True, "terminationMessagePolicy": "File",
    }]}}
    await call_cluster(credentials, "PATCH",
                       f"/api/v1/namespaces/{namespace}/pods/{pod}/ephemeralcontainers",
                       json=body, content_type=STRATEGIC_MERGE)
    return name


async def is_ephemeral(credentials: GrantCredentials, namespace: str, pod: str,
                       container: str) -> bool:
    """Whether *container* is one of *pod*'s ephemeral containers (read with the grant's token;
    PodListError carries the cluster's status)."""
    response = await call_cluster(credentials, "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}")
    spec = response.json().get("spec") or {}
    return any(c.get("name") == container for c in spec.get("ephemeralContainers") or [])
