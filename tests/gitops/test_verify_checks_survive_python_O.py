"""Issue 11 item 12: merge verification's security checks are real checks, not ``assert``
(``python -O`` strips asserts). A file whose decision is a refusal never reaches the approval
count or the verified grants; the same holds when Python runs with -O."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from janus.gitops import verify
from janus.model import Problem
from janus.policy.decision import Decision
from tests.unit.model.helpers import REQUEST_PATH, make_request


def _refused_file() -> verify.JudgedFile:
    request = make_request(REQUEST_PATH)
    problem = Problem(REQUEST_PATH, 8, None, "policy.no-match", "no policy covers it")
    return verify.JudgedFile(REQUEST_PATH, "blob", request,
                             Decision(allowed=False, problems=[problem]), [problem])


class _Pull:
    head_sha = "h" * 40
    author = "alice"

    @staticmethod
    def get_reviews() -> list[object]:
        return []


class _Source:
    """The facts a merge source would answer: a PR by alice without reviews."""

    @staticmethod
    def pull() -> object:
        return _Pull

    @staticmethod
    def reviews() -> list[object]:
        return []

    @staticmethod
    def permissions(logins: set[str]) -> dict[str, str]:
        return dict.fromkeys(logins, "write")


class _Ctx:
    pull = _Pull
    repo = None
    source = _Source


def test_a_refused_file_never_reaches_the_approval_count() -> None:
    with pytest.raises(verify.StepFailed) as refused:
        verify.check_approvals(_Ctx, [_refused_file()], None, None)  # type: ignore[arg-type]
    assert refused.value.step == verify.STEP_VALID
    assert refused.value.details == [f"`{REQUEST_PATH}`"]


def test_the_same_refusal_under_python_O() -> None:
    code = textwrap.dedent("""
        import sys
        try:
            assert False
        except AssertionError:
            sys.exit("asserts are on: run with -O")
        from tests.gitops.test_verify_checks_survive_python_O import (
            _Ctx, _refused_file)
        from janus.gitops import verify
        try:
            verify.check_approvals(_Ctx, [_refused_file()], None, None)
        except verify.StepFailed as exc:
            print("refused", exc.step)
        else:
            print("GRANTED")
    """)
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.stdout.strip() == f"refused {verify.STEP_VALID}", out.stderr[-2000:]
