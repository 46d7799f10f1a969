"""Janus: just-in-time `kubectl exec` access to Kubernetes, run as a GitOps workflow."""

__version__ = "0.1.0"
