"""Grants as the web app's pages see them: AccessRequest CRs in the central cluster, read and
revoked through :mod:`janus.resource`.

Each grant is an :class:`~janus.resource.AccessRequestView`; where it stands (in force, revoked
by whom) is read with :mod:`janus.resource.standing`, as the terminal and the PR comments read
it. Revoking is :meth:`~janus.resource.client.AccessRequestClient.request_revocation`, the one
writer of ``spec.revocation`` (write-once, enforced by the CRD); the controller then removes the
grant's objects and sets phase Revoked. Tokens are never read here.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

from janus.resource import AccessRequestView
from janus.resource.client import AccessRequestClient
from janus.resource.kube import central_client
from janus.web.settings import WebSettings

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def api_client_for(settings: WebSettings) -> Any:
    """A client for the central cluster (:func:`janus.resource.kube.central_client`: the
    configured kubeconfig, else ``KUBECONFIG``, else in-cluster)."""
    return central_client(settings.kubeconfig)


def _newest_first(view: AccessRequestView) -> dt.datetime:
    return view.granted_at or view.meta.created_at or _EPOCH


class GrantStore:
    """AccessRequest CRs in the Janus namespace. Blocking calls: use from sync routes."""

    def __init__(self, api_client: Any, namespace: str) -> None:
        self.client = AccessRequestClient(api_client, namespace)

    @property
    def api_client(self) -> Any:
        """The Kubernetes ``ApiClient`` (for the readiness check)."""
        return self.client.api_client

    def list(self) -> builtins.list[AccessRequestView]:
        """Every grant, the most recently granted (or created) first."""
        return sorted(self.client.list(), key=_newest_first, reverse=True)

    def list_for(self, login: str) -> builtins.list[AccessRequestView]:
        return [g for g in self.list() if g.belongs_to(login)]

    def get(self, name: str) -> AccessRequestView:
        """The grant *name*; :class:`janus.resource.NotFound` if there is none."""
        return self.client.get(name)

    def request_revocation(self, name: str, by: str, reason: str, now: dt.datetime) -> None:
        """Write ``spec.revocation`` once: :class:`janus.resource.AlreadyRevoked` if it is set
        already, :class:`janus.resource.GrantEnded` if the grant is over, NotFound if gone."""
        self.client.request_revocation(name, by, reason, now, via="web")
