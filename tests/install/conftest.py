"""The `wheel` marker: tests that build Janus's wheel and run it from a virtualenv outside the
checkout. They need no cluster and run in `make test` and `make unit`."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "wheel: builds the wheel and runs it from a virtualenv outside the checkout"
    )
