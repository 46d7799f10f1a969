"""The fault-injection suite: every test here is marked ``faults`` (on top of ``k8s_real`` /
``postgres`` when it uses those beds), so ``-m faults`` runs exactly this folder and ``-m "not
faults"`` leaves it out.

Each test breaks one real component on purpose (a process it started itself, by PID: the API
server restarted, etcd stopped with SIGSTOP, the receiver or the controller SIGKILLed, PostgreSQL
restarted, the API server answering 410/504 to a watch) and asserts one promise in its
docstring: no grant lost, no access past expiry beyond a stated bound, nothing applied twice, no
orphaned object. docs/faults.md lists them with the bounds measured.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents and item.get_closest_marker("faults") is None:
            item.add_marker(pytest.mark.faults)
