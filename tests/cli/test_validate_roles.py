"""`janus validate` and `janus plan` with the role catalogue (issue 13 item 1): a request for a
non-exec role, an unknown role, a role the policy does not allow, and an escalating custom role
without and with the admins' mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from janus.cli import main
from tests.unit.model.helpers import CONFIG, PAYMENTS_PROD, REQUEST_TEXT, policy_files

REQUEST = "requests/prod/payments/alice-payments-inc1234.yaml"
ROLES = "    pod-exec: {clusterRole: janus-pod-exec}\n"
EXTRA = """\
    pod-logs: {clusterRole: janus-pod-logs}
    secrets-read:
      clusterRole: janus-secrets-read
      rules:
        - {apiGroups: [""], resources: [secrets], verbs: [get]}
"""


def _repo(tmp_path: Path, *, role: str, extra: str = EXTRA,
          allowed: str = "[pod-exec, pod-logs]") -> Path:
    files = policy_files(
        janus=CONFIG.replace(ROLES, ROLES + extra),
        payments_prod=PAYMENTS_PROD.replace("roles: [pod-exec]", f"roles: {allowed}"))
    files[REQUEST] = REQUEST_TEXT.replace("role: pod-exec", f"role: {role}").encode()
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_escalating_custom_role_without_the_mark_makes_the_policies_invalid(tmp_path, capsys):
    repo = _repo(tmp_path, role="pod-logs")
    code, out, err = _run(capsys, "validate", "--repo", str(repo))
    assert code == 2
    assert "config.role-escalating" in out + err
    assert "resource 'secrets'" in out + err


def test_a_pod_logs_request_is_valid_and_its_plan_shows_the_rules(tmp_path, capsys):
    marked = EXTRA.replace("clusterRole: janus-secrets-read",
                           "clusterRole: janus-secrets-read\n      escalating: true")
    repo = _repo(tmp_path, role="pod-logs", extra=marked)
    code, _, err = _run(capsys, "validate", "--repo", str(repo))
    assert code == 0, err
    code, out, err = _run(capsys, "plan", "--repo", str(repo), str(repo / REQUEST))
    assert code == 0, err
    assert "# role pod-logs → ClusterRole janus-pod-logs" in out
    assert "#   get on pods/log (core)" in out
    assert "name: janus-pod-logs" in out  # the RoleBinding's roleRef


@pytest.mark.parametrize(("role", "allowed", "rule"), [
    ("cluster-admin", "[pod-exec, pod-logs]", "role.unknown"),
    ("pod-logs", "[pod-exec]", "policy.role"),
    ("secrets-read", "[pod-exec, secrets-read]", None),  # marked escalating: allowed
])
def test_requests_for_roles(tmp_path, capsys, role, allowed, rule):
    marked = EXTRA.replace("clusterRole: janus-secrets-read",
                           "clusterRole: janus-secrets-read\n      escalating: true")
    repo = _repo(tmp_path, role=role, extra=marked, allowed=allowed)
    code, out, err = _run(capsys, "validate", "--repo", str(repo))
    if rule is None:
        assert code == 0, out + err
        code, out, _ = _run(capsys, "plan", "--repo", str(repo), str(repo / REQUEST))
        assert code == 0 and "ESCALATING" in out
    else:
        assert code == 1
        assert f": {rule}: " in out
