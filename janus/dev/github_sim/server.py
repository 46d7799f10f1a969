"""``GitHubSimulator``: start the simulated GitHub on loopback and drive it from Python.

See the package docstring for the whole control API; this module wires the world, renderer,
deliverer, recorder and review page into one ASGI app and serves it with uvicorn in a thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import faults
from .app import Recorder, SimulatorApp
from .delivery import Deliverer, Delivery
from .errors import ApiError
from .oauth import OAuthFlow
from .payloads import Payloads
from .render import Renderer
from .ui import ReviewPages
from .world import World

T = TypeVar("T")


class GitHubSimulator:
    """A running simulated GitHub. Use :meth:`start` (or ``with GitHubSimulator.start() as s``)."""

    def __init__(self, root: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = World(root)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self.render = Renderer(self.world, self.base_url)
        self.world.payloads = Payloads(self.render)
        self.deliverer = Deliverer(self.world)
        self.recorder = Recorder()
        self.app = SimulatorApp(self.world, self.render, self.deliverer, self.recorder)
        self.app.ui = ReviewPages(self)
        self.oauth = OAuthFlow(self)
        self.app.oauth = self.oauth
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._tokens: dict[str, str] = {}
        self._spans_from = 0  # deliveries before the last spans(reset=True)

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def start(cls, root: Path | None = None, port: int = 0) -> GitHubSimulator:
        """Serve on ``127.0.0.1`` (a free port unless *port*); returns once it accepts."""
        sim = cls(root, port=port)
        config = uvicorn.Config(sim.app, log_level="warning", lifespan="off",
                                access_log=False)
        sim._server = uvicorn.Server(config)
        # No signal handlers to switch off: uvicorn (>= 0.29) installs none outside the main thread.
        sim._thread = threading.Thread(target=sim._server.run, kwargs={"sockets": [sim._sock]},
                                       name="github-sim", daemon=True)
        sim._thread.start()
        deadline = time.monotonic() + 10
        while not sim._server.started:
            if time.monotonic() > deadline or not sim._thread.is_alive():
                raise RuntimeError("GitHub simulator did not start")
            time.sleep(0.01)
        return sim

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self.deliverer.close()
        self.world.close()

    def __enter__(self) -> GitHubSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _act(self, fn: Callable[[], T]) -> T:
        """Run a world change under its lock, then deliver the webhooks it caused."""
        try:
            with self.world.lock:
                return fn()
        finally:
            self.deliverer.pump()

    # -- accounts -------------------------------------------------------------------------------

    def add_user(self, login: str, name: str | None = None, email: str | None = None) -> str:
        """Create a user; returns their personal access token."""
        token = self.world.add_user(login, name=name, email=email)
        self._tokens[login.lower()] = token
        return token

    def delete_user(self, login: str) -> None:
        """Delete the account (GitHub's "ghost"): ``user: null`` on its comments and reviews,
        ``author: {}`` on its commits, its tokens revoked."""
        self.world.delete_user(login)

    def token(self, login: str) -> str:
        """The personal token :meth:`add_user` returned for *login*."""
        return self._tokens[login.lower()]

    def client(self, login: str | None = None, *, token: str | None = None,
               **kwargs: Any) -> Any:
        """A PyGithub ``Github`` for *login* (or *token*) with test settings: no retries, no
        throttling sleeps, 10 s timeout. Extra keyword arguments go to ``Github``."""
        from github import Auth, Github

        credential = token or (self.token(login) if login else None)
        options: dict[str, Any] = {"retry": None, "seconds_between_requests": None,
                                   "seconds_between_writes": None, "timeout": 10}
        options.update(kwargs)
        auth = Auth.Token(credential) if credential else None
        return Github(auth=auth, base_url=self.base_url, **options)

    def add_org(self, org: str, admins: list[str] | None = None) -> None:
        self.world.add_org(org, admins=admins)

    def add_team(self, org: str, slug: str, members: list[str] | None = None,
                 maintainers: list[str] | None = None) -> int:
        """Create a team (members join the org too); returns the team id."""
        return self.world.add_team(org, slug, members, maintainers).id

    def set_team_members(self, org: str, slug: str, members: list[str],
                         pending: list[str] | None = None) -> None:
        """Replace the team's members; *pending* are invited but have not accepted (their
        membership reads ``state: pending`` and grants nothing)."""
        self.world.set_team_members(org, slug, members, pending)

    # -- repositories ---------------------------------------------------------------------------

    def create_repo(self, owner: str, name: str, files: Mapping[str, bytes | str] | None = None,
                    default_branch: str = "main", collaborators: dict[str, str] | None = None,
                    teams: dict[str, str] | None = None, private: bool = False) -> str:
        """Create a repository with an initial commit of *files*; returns ``owner/name``.

        *collaborators* maps logins to ``read|triage|write|maintain|admin``; *teams* maps
        ``org/slug`` to a permission.
        """
        repo = self.world.create_repo(owner, name, files, default_branch, collaborators, teams,
                                      private)
        return repo.full_name

    def fork(self, repo: str, login: str, name: str | None = None) -> str:
        """Fork *repo* into *login*'s account (as ``POST /repos/{o}/{r}/forks``); returns the
        fork's full name. Push to it with :meth:`push`, then open a cross-repository PR with
        ``create_pull(repo, head="<login>:<branch>", ...)``."""
        return self._act(lambda: self.world.fork_repo(repo, login, name).full_name)

    def rename_repo(self, repo: str, new_name: str, actor: str) -> str:
        """Rename *repo* as *actor* (an admin); returns the new full name (same id)."""
        return self._act(lambda: self.world.rename_repo(repo, new_name, actor).full_name)

    def set_collaborator(self, repo: str, login: str, permission: str) -> None:
        with self.world.lock:
            r = self.world.repo(repo)
            r.collaborators[self.world.account(login).login] = permission

    def push(self, repo: str, branch: str, files: dict[str, bytes | str | None], author: str,
             message: str, base: str | None = None) -> str:
        """Commit *files* (``None`` deletes) on *branch* as *author*; returns the commit SHA.

        A missing branch is created from *base* (default: the default branch). Emits ``push``
        and, for open pull requests of that branch, ``pull_request.synchronize``.
        """
        return self._act(lambda: self.world.push(repo, branch, files, author, message, base))

    def push_series(self, repo: str, branch: str, commits: list[dict[str, bytes | str | None]],
                    author: str, message: str, base: str | None = None) -> str:
        """Push several commits at once (one dict of files per commit, oldest first); returns
        the new tip. For PRs longer than GitHub's list caps (250 commits)."""
        return self._act(lambda: self.world.push_series(repo, branch, commits, author, message,
                                                        base))

    def head(self, repo: str, branch: str | None = None) -> str:
        with self.world.lock:
            r = self.world.repo(repo)
            return self.world.resolve(r, branch or r.default_branch)

    def read_file(self, repo: str, path: str, ref: str | None = None) -> bytes | None:
        with self.world.lock:
            r = self.world.repo(repo)
            entry = r.git.entry_at(self.world.resolve(r, ref), path)
            return None if entry is None or entry.type != "blob" else r.git.read_blob(entry.sha)

    def git_dir(self, repo: str) -> Path:
        """The bare repository on disk (``git --git-dir=... log`` works on it)."""
        return self.world.repo(repo).git.path

    def protect_branch(self, repo: str, branch: str, *, required_approvals: int = 0,
                       require_code_owner_reviews: bool = False,
                       dismiss_stale_reviews: bool = False, enforce_admins: bool = False,
                       required_checks: list[tuple[str, int | None]] | None = None) -> None:
        """Classic branch protection: merges need approvals (and passing required checks,
        ``(context, app_id or None)``); admins bypass all of it unless *enforce_admins*."""
        self.world.set_protection(repo, branch, required_approvals=required_approvals,
                                  require_code_owner_reviews=require_code_owner_reviews,
                                  dismiss_stale_reviews=dismiss_stale_reviews,
                                  enforce_admins=enforce_admins,
                                  required_checks=list(required_checks or []))

    # -- pull requests (the same rules as the REST API) -----------------------------------------

    def create_pull(self, repo: str, head: str, title: str, author: str,
                    base: str | None = None, body: str | None = None,
                    draft: bool = False) -> int:
        def go() -> int:
            r = self.world.repo(repo)
            return self.world.create_pull(r, title, head, base or r.default_branch, body,
                                          draft, author).number
        return self._act(go)

    def review(self, repo: str, number: int, reviewer: str, event: str,
               body: str | None = None) -> int:
        """Submit a review (``APPROVE|REQUEST_CHANGES|COMMENT``); returns the review id."""
        def go() -> int:
            r = self.world.repo(repo)
            return self.world.create_review(r, self.world.pull(r, number), event, body, None,
                                            reviewer).id
        return self._act(go)

    def dismiss_review(self, repo: str, number: int, review_id: int, actor: str,
                       message: str = "dismissed") -> None:
        def go() -> None:
            r = self.world.repo(repo)
            pr = self.world.pull(r, number)
            self.world.dismiss_review(r, pr, self.world.review(pr, review_id), message, actor)
        self._act(go)

    def merge(self, repo: str, number: int, actor: str, method: str = "merge") -> str:
        """Merge as *actor* (write access needed; protection applies); returns the commit SHA."""
        def go() -> str:
            r = self.world.repo(repo)
            return self.world.merge(r, self.world.pull(r, number), actor, method)
        return self._act(go)

    def close_pull(self, repo: str, number: int, actor: str) -> None:
        def go() -> None:
            r = self.world.repo(repo)
            self.world.edit_pull(r, self.world.pull(r, number), {"state": "closed"}, actor)
        self._act(go)

    def comment(self, repo: str, number: int, author: str, body: str) -> int:
        def go() -> int:
            return self.world.create_comment(self.world.repo(repo), number, body, author).id
        return self._act(go)

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """The pull request as the REST API shows it (a dict)."""
        with self.world.lock:
            r = self.world.repo(repo)
            return self.render.pull(r, self.world.pull(r, number))

    # -- apps -----------------------------------------------------------------------------------

    def create_app(self, slug: str, owner: str | None = None, events: list[str] | None = None,
                   webhook_url: str | None = None,
                   webhook_secret: str | None = None) -> tuple[int, str]:
        """Register a GitHub App; returns ``(app_id, private_key_pem)``.

        The simulator keeps only the public key and verifies RS256 JWTs against it; the app's
        installation tokens act as ``<slug>[bot]``. With *webhook_url*, the App receives the
        *events* of every repository it is installed on, with ``installation`` in the payload
        and ``X-GitHub-Hook-Installation-Target-Type: integration``.
        """
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()).decode()
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        with self.world.lock:
            if owner is None:
                owner = next((a.login for a in self.world.accounts.values()
                              if a.type == "Organization"), None)
            if owner is None:
                self.world.add_user(f"{slug}-owner")
                owner = f"{slug}-owner"
            app = self.world.create_app(slug, owner, public_pem, events or [
                "pull_request", "pull_request_review", "issue_comment", "push", "check_run",
                "check_suite"])
            if webhook_url:
                self.world.set_app_hook(app.id, webhook_url, webhook_secret)
        return app.id, private_pem

    def set_app_webhook(self, app_id: int, url: str, secret: str | None) -> int:
        """Point the App's webhook at *url*; returns its hook id."""
        return self.world.set_app_hook(app_id, url, secret).id

    def install_app(self, app_id: int, repo: str | list[str]) -> int:
        """Install the app on a repository (or several); returns the installation id."""
        repos = [repo] if isinstance(repo, str) else list(repo)
        return self.world.install_app(app_id, repos).id

    def installation_token(self, installation_id: int, ttl: float = 3600.0) -> str:
        """An installation token without the JWT dance (the REST route issues the same kind)."""
        with self.world.lock:
            inst = self.world.installations[installation_id]
            return self.world.issue_token(self.world.apps[inst.app_id].bot_login,
                                          installation_id=inst.id, ttl=ttl)

    def bot_login(self, app_id: int) -> str:
        return self.world.apps[app_id].bot_login

    def create_oauth_app(self, callback_url: str) -> tuple[str, str]:
        """Register an OAuth App for the web flow at ``{base_url}/login/oauth/…``; returns
        ``(client_id, client_secret)``. The user tokens it hands out are ``gho_…``."""
        app = self.oauth.register(callback_url)
        return app.client_id, app.client_secret

    # -- webhooks -------------------------------------------------------------------------------

    def add_webhook(self, repo: str, url: str, secret: str | None,
                    events: list[str] | None = None) -> int:
        """Add a JSON webhook (events default to ``["*"]``); sends ``ping``; returns its id."""
        return self._act(lambda: self.world.add_hook(repo, url, secret, events or ["*"]).id)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far (redeliveries included), oldest first."""
        return self.deliverer.log()

    def set_delivery_mode(self, mode: str) -> None:
        """``"sync"`` (default), ``"background"`` or ``"hold"``."""
        self.deliverer.set_mode(mode)

    def drop_next(self, count: int = 1, event: str | None = None) -> None:
        self.deliverer.drop_next(count, event)

    def duplicate_next(self, count: int = 1, event: str | None = None) -> None:
        self.deliverer.duplicate_next(count, event)

    def clear_faults(self) -> None:
        """Forget every fault rule: delivery drops and duplicates, request faults, rate limits
        a test set (a simulator shared by several tests)."""
        self.deliverer.clear_faults()
        self.app.faults.clear()
        self.app.rate_limits.exhausted.clear()
        self.app.rate_limits.exhausted_until.clear()

    def held_deliveries(self) -> list[Delivery]:
        return self.deliverer.held()

    def release_held(self, order: str | list[str] = "fifo") -> list[Delivery]:
        return self.deliverer.release_held(order)

    def redeliver(self, delivery: str | int) -> Delivery:
        """Send a delivery (by GUID or numeric id) again with the same ``X-GitHub-Delivery``;
        returns the new delivery record (``redelivery=True``)."""
        return self.deliverer.redeliver(delivery)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        return self.deliverer.wait_idle(timeout)

    # -- faults ---------------------------------------------------------------------------------

    def wait_for_test_merges(self, timeout: float = 10.0) -> bool:
        """Wait until the background renewal of the test merges a push made stale is done
        (every open PR's ``mergeable`` known again); False if *timeout* passed first."""
        return self.world.test_merges.wait_idle(timeout)

    def set_limits(self, *, tree_entries: int | None = None,
                   contents_size: int | None = None) -> None:
        """Lower (or restore) GitHub's real limits so a test can reach them: a recursive tree
        listing is cut at *tree_entries* (``truncated: true``; GitHub: 100,000) and a file
        above *contents_size* bytes comes back with ``encoding: "none"`` (GitHub: 1 MB)."""
        with self.world.lock:
            if tree_entries is not None:
                self.world.tree_entries_limit = tree_entries
            if contents_size is not None:
                self.world.contents_size_limit = contents_size

    def fail_requests(self, status: int = 502, *, method: str | None = None,
                      path: str | None = None, login: str | None = None,
                      count: int | None = None, seconds: float | None = None) -> None:
        """Answer matching requests (method, regex searched in the path, caller's login) with a
        server error — the next *count*, or all for *seconds*, or until :meth:`clear_faults`."""
        self.app.faults.add(faults.rule("error", status=status, method=method, path=path,
                                        login=login, count=count, seconds=seconds))

    def slow_requests(self, delay: float, *, method: str | None = None,
                      path: str | None = None, login: str | None = None,
                      count: int | None = None, seconds: float | None = None) -> None:
        """Hold matching requests *delay* seconds, then carry them out (a client with a shorter
        timeout gives up on a write that still happens, as on GitHub)."""
        self.app.faults.add(faults.rule("slow", delay=delay, method=method, path=path,
                                        login=login, count=count, seconds=seconds))

    def secondary_rate_limit(self, *, retry_after: int | None = 60, status: int = 403,
                             method: str | None = None, path: str | None = None,
                             login: str | None = None, count: int | None = None,
                             seconds: float | None = None) -> None:
        """GitHub's secondary rate limit on matching requests: 403 or 429, "You have exceeded a
        secondary rate limit…", ``retry-after`` when given, requests still remaining."""
        self.app.faults.add(faults.rule("secondary", status=status, retry_after=retry_after,
                                        method=method, path=path, login=login, count=count,
                                        seconds=seconds))

    def primary_rate_limit(self, login: str, *, reset_in: float, status: int = 403) -> float:
        """Exhaust *login*'s primary limit until ``now + reset_in``: every request gets 403 (or
        429) with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` until then, when it
        lifts by itself. Returns the reset (epoch seconds)."""
        reset = float(int(time.time() + reset_in))
        with self.world.lock:
            self.app.rate_limits.exhaust_until(login, reset, status)
        return reset

    def set_serial(self, serial: bool) -> None:
        """Answer one request at a time (every read holds the world lock exclusive), as the
        simulator did before reads ran together: a benchmark's baseline."""
        self.world.lock.serial = serial

    def spans(self, reset: bool = False) -> dict[str, Any]:
        """Per route: requests, seconds waiting for the world lock, seconds holding it; the
        most requests in flight at once (:class:`.app.Spans`); and the webhook deliveries
        sent (count, seconds until the receiver answered: total and median). *reset* starts
        afresh."""
        summary = self.app.spans.summary()
        sent = self.deliverer.log()[self._spans_from:]
        took = sorted(d.attempts[-1].duration for d in sent if d.attempts)
        summary["deliveries"] = {"sent": len(took), "seconds": sum(took),
                                 "p50": took[len(took) // 2] if took else 0.0}
        if reset:
            self.app.spans.reset()
            self._spans_from += len(sent)
        return summary

    def exhaust_rate_limit(self, login: str, exhausted: bool = True) -> None:
        """Make every request of *login* fail with GitHub's 403 rate-limit answer."""
        (self.app.rate_limits.exhausted.add if exhausted
         else self.app.rate_limits.exhausted.discard)(login)


__all__ = ["ApiError", "GitHubSimulator"]
