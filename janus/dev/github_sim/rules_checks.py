"""World rules for check runs (GitHub Apps only) and commit statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ApiError, validation_failed
from .model import (
    App,
    CheckRun,
    CheckSuite,
    CommitStatus,
    Repo,
    now_iso,
)
from .state import WorldState

if TYPE_CHECKING:
    from .payloads import Payloads


class CheckRules(WorldState):
    # -- checks and statuses --------------------------------------------------------------------

    def app_of(self, login: str) -> App | None:
        for app in self.apps.values():
            if app.bot_login.lower() == login.lower():
                return app
        return None

    def create_check_run(self, repo: Repo, fields: dict[str, Any], actor: str) -> CheckRun:
        app = self.app_of(actor)
        if app is None:
            raise ApiError(403, "You must authenticate via a GitHub App.")
        self.require(repo, actor, "write")
        if not fields.get("name"):
            raise validation_failed("CheckRun", "missing_field", "name")
        head = str(fields.get("head_sha") or "")
        if repo.git.object_type(head) != "commit":
            raise validation_failed("CheckRun", "invalid", "head_sha",
                                    f"No commit found for SHA: {head}")
        suite = self.suite_for(repo, app.id, head, None, None)
        run = CheckRun(id=self.next_id(), suite_id=suite.id, name=fields["name"], head_sha=head,
                       app_id=app.id)
        self._apply_check_fields(run, fields)
        repo.check_runs[run.id] = run
        self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "created", actor))
        if run.status == "completed":
            self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "completed", actor))
            self._maybe_complete_suite(repo, run, actor)
        return run

    def update_check_run(self, repo: Repo, run: CheckRun, fields: dict[str, Any],
                         actor: str) -> None:
        app = self.app_of(actor)
        if app is None or app.id != run.app_id:
            raise ApiError(403, "Resource not accessible by integration")
        was_completed = run.status == "completed"
        self._apply_check_fields(run, fields)
        if run.status == "completed" and not was_completed:
            self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "completed", actor))
            self._maybe_complete_suite(repo, run, actor)

    def _maybe_complete_suite(self, repo: Repo, run: CheckRun, actor: str) -> None:
        suite = repo.check_suites[run.suite_id]
        suite.updated_at = now_iso()
        runs = [r for r in repo.check_runs.values() if r.suite_id == run.suite_id]
        if all(r.status == "completed" for r in runs):
            self.emit(repo, "check_suite",
                      lambda p: p.check_suite(repo, suite, "completed", actor))

    def suite_for(self, repo: Repo, app_id: int, sha: str, branch: str | None,
                  before: str | None) -> CheckSuite:
        """The App's suite for *sha*, created on first use."""
        for suite in repo.check_suites.values():
            if suite.app_id == app_id and suite.head_sha == sha:
                return suite
        stamp = now_iso()
        suite = CheckSuite(id=self.next_id(), app_id=app_id, head_sha=sha, head_branch=branch,
                           before=before, created_at=stamp, updated_at=stamp)
        repo.check_suites[suite.id] = suite
        return suite

    def request_check_suites(self, repo: Repo, branch: str, before: str | None, after: str,
                             pusher: str) -> None:
        """On a push, each installed App with checks gets a suite and ``check_suite.requested``
        (sent to the App's webhook only, as GitHub does)."""
        for inst in self.installations.values():
            app = self.apps[inst.app_id]
            if repo.full_name not in inst.repos or "check_suite" not in app.events:
                continue
            suite = self.suite_for(repo, app.id, after, branch, before)
            def requested(p: Payloads, s: CheckSuite = suite) -> dict[str, Any]:
                return p.check_suite(repo, s, "requested", pusher)

            self.emit(repo, "check_suite", requested, app_id=app.id)

    def rerequest_suite(self, repo: Repo, suite: CheckSuite, actor: str) -> None:
        self.require(repo, actor, "write")
        self.emit(repo, "check_suite", lambda p: p.check_suite(repo, suite, "rerequested",
                                                                actor), app_id=suite.app_id)

    def rerequest_run(self, repo: Repo, run: CheckRun, actor: str) -> None:
        self.require(repo, actor, "write")
        if run.status != "completed":
            raise ApiError(403, "This check run is not rerequestable or does not exist")
        self.emit(repo, "check_run", lambda p: p.check_run(repo, run, "rerequested", actor),
                  app_id=run.app_id)

    @staticmethod
    def _apply_check_fields(run: CheckRun, fields: dict[str, Any]) -> None:
        for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
            if key in fields:
                setattr(run, key, fields[key])
        if "status" in fields:
            if fields["status"] not in ("queued", "in_progress", "completed"):
                raise validation_failed("CheckRun", "invalid", "status")
            run.status = fields["status"]
        if fields.get("conclusion"):
            valid = ("action_required", "cancelled", "failure", "neutral", "success",
                     "skipped", "timed_out")
            if fields["conclusion"] not in valid:
                raise validation_failed("CheckRun", "invalid", "conclusion")
            run.conclusion = fields["conclusion"]
            run.status = "completed"  # giving a conclusion completes the run, as on GitHub
        if run.status == "completed" and run.conclusion is None:
            raise validation_failed("CheckRun", "missing_field", "conclusion")
        if run.status == "completed" and run.completed_at is None:
            run.completed_at = now_iso()
        if run.status != "queued" and run.started_at is None:
            run.started_at = now_iso()
        if fields.get("output"):
            output = dict(fields["output"])
            if "title" not in output or "summary" not in output:
                raise validation_failed("CheckRun", "missing_field", "output")
            run.output = output

    def create_status(self, repo: Repo, sha: str, fields: dict[str, Any],
                      actor: str) -> CommitStatus:
        self.require(repo, actor, "write")
        if repo.git.object_type(sha) != "commit":
            raise validation_failed("Status", "invalid", "sha", f"No commit found for SHA: {sha}")
        if fields.get("state") not in ("error", "failure", "pending", "success"):
            raise validation_failed("Status", "custom", "state")
        status = CommitStatus(id=self.next_id(), sha=sha, state=fields["state"],
                              context=fields.get("context") or "default",
                              description=fields.get("description"),
                              target_url=fields.get("target_url"),
                              creator=self.account(actor).login, created_at=now_iso())
        repo.statuses.append(status)
        return status

