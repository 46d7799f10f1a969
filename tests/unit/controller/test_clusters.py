"""Target clusters from kubeconfig text: server and CA for the token Secret, clear errors."""

from __future__ import annotations

import base64

import pytest
import yaml

from janus.controller.clusters import ClusterUnavailable, target_from_kubeconfig

CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def kubeconfig(server: str = "https://10.1.2.3:6443") -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(CA.encode()).decode(),
        }}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    })


def test_server_and_ca_come_from_the_kubeconfig() -> None:
    target = target_from_kubeconfig("prod", kubeconfig(), "42")
    assert (target.name, target.server, target.version) == ("prod", "https://10.1.2.3:6443", "42")
    assert target.ca_pem == CA
    assert target.api.configuration.connection_pool_maxsize >= 32


@pytest.mark.parametrize("text", ["not: [valid", "apiVersion: v1\nkind: Config\n"])
def test_a_broken_kubeconfig_is_unavailable_not_a_crash(text: str) -> None:
    with pytest.raises(ClusterUnavailable) as err:
        target_from_kubeconfig("prod", text, "1")
    assert "invalid kubeconfig" in str(err.value)
    assert "not-a-real-token" not in str(err.value)
