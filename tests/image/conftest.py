"""The `image` marker: tests that run the container image (`make image`, janus:dev) under podman.
They run with `make test-image` (also called by .ci/run), not in `make test`."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "image: runs the janus:dev container image under podman (make test-image)"
    )
