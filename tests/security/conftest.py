"""Reuse the GitOps bed (simulator, App, access repository, API server with the CRD) rather than
build another: the security tests must exercise the very wiring the product tests trust."""

from tests.gitops.conftest import bed, github_sim, gitops, kube  # noqa: F401
