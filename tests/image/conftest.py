"""The `image` marker: tests that run the container image (`make image`, janus:dev) under podman.
`make test` (what .ci/run calls) builds the image first and runs them with the rest;
`make test-image` runs only them; `make unit` leaves them out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "image: runs the janus:dev container image under podman (make image first)"
    )
