"""`janus dev` outside a source checkout (an installed wheel): a plain message, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from janus.dev.controlplane.binaries import BinariesMissing, read_versions


def test_missing_versions_file_says_a_source_checkout_is_needed(tmp_path: Path) -> None:
    with pytest.raises(BinariesMissing) as raised:
        read_versions(tmp_path / "tests" / "cluster" / "versions.env")
    message = str(raised.value)
    assert "source checkout" in message
    assert "make demo" in message
    assert str(tmp_path / "tests" / "cluster" / "versions.env") in message


def test_the_checkout_versions_file_is_read() -> None:
    versions = read_versions()
    assert versions["KUBERNETES_VERSION"].startswith("v1.")
