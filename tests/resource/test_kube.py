"""central_client: flag → KUBECONFIG → in-cluster → ~/.kube/config, first match wins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from janus.errors import ConfigError
from janus.resource import kube


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kube, "DEFAULT_KUBECONFIG", tmp_path / "home-kubeconfig")
    return tmp_path


def test_an_explicit_kubeconfig_wins_over_the_environment(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = _kubeconfig(env / "flag", "https://flag.example:6443")
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(env / "envvar", "https://env.example:6443")))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert kube.central_client(flag).configuration.host == "https://flag.example:6443"


def test_kubeconfig_env_wins_over_in_cluster(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(env / "envvar", "https://env.example:6443")))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert kube.central_client().configuration.host == "https://env.example:6443"


def test_in_a_pod_without_kubeconfig_the_service_account_is_used(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _kubeconfig(kube.DEFAULT_KUBECONFIG, "https://home.example:6443")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert kube.describe_source() == "in-cluster service account"
    with pytest.raises(ConfigError, match="in-cluster"):
        kube.central_client()  # no service account files here: an error, not ~/.kube/config


def test_outside_a_pod_the_home_kubeconfig_is_the_last_resort(env: Path) -> None:
    _kubeconfig(kube.DEFAULT_KUBECONFIG, "https://home.example:6443")
    api = kube.central_client(pool_size=7)
    assert api.configuration.host == "https://home.example:6443"
    assert api.configuration.connection_pool_maxsize == 7


def test_a_named_kubeconfig_that_cannot_be_read_is_an_error(env: Path) -> None:
    _kubeconfig(kube.DEFAULT_KUBECONFIG, "https://home.example:6443")
    with pytest.raises(kube.NoCredentials, match="missing"):
        kube.central_client(env / "missing")
