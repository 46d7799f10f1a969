"""The central cluster's Kubernetes client: one factory, one precedence.

:func:`central_client` is how every process (controller, webhook receiver, web app, ``janus
revoke``/``grants``) connects to the cluster that holds the AccessRequests. Where the credentials
come from, first match wins:

1. an explicit kubeconfig path (a ``--kubeconfig`` flag or setting);
2. the ``KUBECONFIG`` environment variable (one path or several, ``:``-separated);
3. the in-cluster service account, when running in a pod (``KUBERNETES_SERVICE_HOST`` set);
4. ``~/.kube/config``, for a person at a terminal.

A named kubeconfig that cannot be used is an error, never silently replaced by a later source.
Target clusters are not built here: the controller builds them from kubeconfig Secrets
(``janus.controller.clusters``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from janus.errors import ConfigError

DEFAULT_KUBECONFIG = Path("~/.kube/config")


class NoCredentials(ConfigError):
    """No usable credentials for the central cluster."""


def _source(kubeconfig: str | os.PathLike[str] | None) -> str | None:
    """The kubeconfig to load, or None for in-cluster config."""
    if kubeconfig:
        return os.fspath(kubeconfig)
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    return str(DEFAULT_KUBECONFIG.expanduser())


def describe_source(kubeconfig: str | os.PathLike[str] | None = None) -> str:
    """Where :func:`central_client` would read credentials from (for messages)."""
    source = _source(kubeconfig)
    return "in-cluster service account" if source is None else f"kubeconfig {source}"


def central_client(kubeconfig: str | os.PathLike[str] | None = None, *,
                   pool_size: int | None = None) -> Any:
    """An ``ApiClient`` for the central cluster (see the module docstring for the precedence).

    *pool_size* sizes the connection pool (the controller calls from many threads at once).
    Raises :class:`NoCredentials` when the chosen source cannot be used.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    # The loaders carry no type annotations; named here with the signature we rely on.
    load_incluster: Callable[..., None] = config.load_incluster_config
    load_kubeconfig: Callable[..., None] = config.load_kube_config
    configuration = client.Configuration()
    source = _source(kubeconfig)
    try:
        if source is None:
            load_incluster(client_configuration=configuration)
        else:
            load_kubeconfig(config_file=source, client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise NoCredentials(
            f"no usable credentials for the central cluster ({describe_source(kubeconfig)}): "
            f"{exc}") from None
    if pool_size is not None:
        configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)
