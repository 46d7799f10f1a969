"""Settings of the web app, read from a YAML file and the environment.

Secrets (session secret, GitHub token, OAuth/OIDC client secrets) may come from the environment
so that a Helm chart can mount them from a Secret instead of a config file:
``JANUS_WEB_SESSION_SECRET``, ``JANUS_GITHUB_TOKEN``, ``JANUS_GITHUB_CLIENT_SECRET``,
``JANUS_OIDC_CLIENT_SECRET``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

AuthMode = Literal["github", "oidc", "proxy", "dev"]
AUTH_MODES: tuple[str, ...] = ("github", "oidc", "proxy", "dev")

_ENV_SECRETS = {
    "session_secret": "JANUS_WEB_SESSION_SECRET",
    "github_token": "JANUS_GITHUB_TOKEN",
    "github_client_secret": "JANUS_GITHUB_CLIENT_SECRET",
    "oidc_client_secret": "JANUS_OIDC_CLIENT_SECRET",
}


class SettingsError(ValueError):
    """A setting is missing or contradicts another one."""


@dataclass
class WebSettings:
    # Where the browser reaches the app: the WebSocket Origin check and OAuth redirects use it.
    public_url: str = "http://127.0.0.1:8080"
    # Signs session cookies; a random one logs everybody out at each restart.
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_max_age_seconds: int = 8 * 3600

    # Central cluster: None = in-cluster configuration.
    kubeconfig: Path | None = None
    janus_namespace: str = "janus"
    tokens_namespace: str = "janus-tokens"

    # Terminal (D2): session records and idle timeout.
    database_url: str = "sqlite:///./janus-web.db"
    idle_timeout_seconds: int = 900
    # Recordings (issue 11 item 4). Recording is a condition of access: a session whose
    # recording cannot continue (this many RAW bytes reached, a database error) ends.
    recording_max_bytes: int = 32 * 1024 * 1024
    # Record keystrokes too ("i" events). Off by default: input the screen does not echo is
    # where passwords are. When on, the terminal says so before the first keystroke.
    record_input: bool = False
    # Recordings of sessions closed longer ago than this are deleted (the session row, with
    # the recording's SHA-256 and size, stays). 0 keeps them forever.
    recording_retention_days: int = 90

    # GitHub and the access repository ("owner/name").
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    repo: str = ""
    # Token used to open PRs when the user has no OAuth token of their own (proxy/OIDC/dev).
    github_token: str | None = None
    # The branch holding ledger/ (docs/design.md §11); empty: the repo's default branch. The
    # pages read ended grants from it with github_token (read-only).
    ledger_branch: str = ""
    # Dev login only (the local demo against the GitHub simulator): each user's own token, so
    # the PRs the form opens are authored by the requester as with OAuth. Ignored otherwise.
    dev_user_tokens: dict[str, str] = field(default_factory=dict)
    # Dev login only: users listed on the sign-in page with what each may do (login -> text),
    # so the demo's users are one click away. Nothing is granted by being listed.
    dev_login_users: dict[str, str] = field(default_factory=dict)

    # A local checkout of the access repo (its policies/ folder is read). When unset, policies
    # are read from the repo's default branch on GitHub with github_token. They give the form's
    # choices, the judge that validates a request before its PR is opened, and the admins.
    access_repo_dir: Path | None = None
    # Team membership for admin teams (YAML, janus.policy.StaticMembership format).
    membership_file: Path | None = None
    admin_users: frozenset[str] = frozenset()
    admin_teams: frozenset[str] = frozenset()

    # Login.
    auth_mode: AuthMode = "github"
    github_client_id: str = ""
    github_client_secret: str = ""
    github_oauth_scopes: str = "repo read:org"
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    # The claim that carries the user's GitHub login (users are GitHub logins everywhere).
    oidc_login_claim: str = "preferred_username"
    proxy_header: str = "X-Forwarded-User"
    # Who may log in (issue 11 item 6): members of these organizations or teams ("org/slug"),
    # asked of the GitHub API at login and every membership_recheck_seconds of a session.
    # Neither set: the access repository's organization. Applies to the github, oidc and proxy
    # modes (not to the loopback-only dev login).
    login_orgs: tuple[str, ...] = ()
    login_teams: tuple[str, ...] = ()
    membership_recheck_seconds: int = 600
    # Turns the restriction off: anyone the login mode accepts gets in (e.g. a proxy that
    # already restricts to the organization). Off by default; say so explicitly.
    login_open_to_any_github_user: bool = False
    # TCP peers (addresses or CIDRs) whose proxy header is trusted; nobody else's is.
    proxy_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.admin_users = frozenset(u.lower() for u in self.admin_users)
        self.admin_teams = frozenset(t.lower() for t in self.admin_teams)
        self.proxy_addresses = tuple(self.proxy_addresses)
        self.login_orgs = tuple(self.login_orgs)
        self.login_teams = tuple(self.login_teams)
        if isinstance(self.kubeconfig, str):
            self.kubeconfig = Path(self.kubeconfig)
        if isinstance(self.access_repo_dir, str):
            self.access_repo_dir = Path(self.access_repo_dir)
        if isinstance(self.membership_file, str):
            self.membership_file = Path(self.membership_file)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_origin(self) -> str:
        """``scheme://host[:port]`` of public_url, as browsers send it in ``Origin``."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    def validate(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise SettingsError(f"auth_mode must be one of {', '.join(AUTH_MODES)}")
        if urlsplit(self.public_url).scheme not in ("http", "https"):
            raise SettingsError("public_url must be an http(s) URL")
        if self.recording_max_bytes < 1024:
            raise SettingsError("recording_max_bytes must be at least 1024")
        if self.recording_retention_days < 0:
            raise SettingsError("recording_retention_days must be 0 (keep) or more")
        if len(self.session_secret) < 16:
            raise SettingsError("session_secret must be at least 16 characters")
        if self.auth_mode == "github" and not (
            self.github_client_id and self.github_client_secret
        ):
            raise SettingsError("auth_mode github needs github_client_id and github_client_secret")
        if self.auth_mode == "oidc" and not (self.oidc_issuer and self.oidc_client_id):
            raise SettingsError("auth_mode oidc needs oidc_issuer and oidc_client_id")
        if (self.auth_mode != "dev" and not self.login_open_to_any_github_user
                and not (self.login_orgs or self.login_teams or "/" in self.repo)):
            raise SettingsError(
                "login is restricted to organization/team members: set login_orgs or "
                "login_teams (or repo, whose organization is the default), or "
                "login_open_to_any_github_user: true")
        for team in self.login_teams:
            if team.count("/") != 1 or not all(team.split("/")):
                raise SettingsError(f"login_teams: {team!r} is not org/team-slug")
        if self.membership_recheck_seconds < 1:
            raise SettingsError("membership_recheck_seconds must be at least 1")
        if self.auth_mode == "proxy":
            if not self.proxy_addresses:
                raise SettingsError("auth_mode proxy needs proxy_addresses (trusted proxy peers)")
            for entry in self.proxy_addresses:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise SettingsError(f"proxy_addresses: {entry!r} is not an address") from exc

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> WebSettings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingsError(f"unknown web settings: {', '.join(unknown)}")
        values = dict(data)
        for name in ("admin_users", "admin_teams"):
            if name in values:
                values[name] = frozenset(values[name] or ())
        for name in ("proxy_addresses", "login_orgs", "login_teams"):
            if name in values:
                values[name] = tuple(values[name] or ())
        for name, env in _ENV_SECRETS.items():
            if os.environ.get(env):
                values[name] = os.environ[env]
        return cls(**values)

    @classmethod
    def from_file(cls, path: Path) -> WebSettings:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise SettingsError(f"{path}: expected a mapping of settings")
        base = path.parent
        for name in ("kubeconfig", "access_repo_dir", "membership_file"):
            if data.get(name):
                data[name] = (base / data[name]).resolve()
        return cls.from_mapping(data)
