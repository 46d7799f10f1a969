"""A faithful, stateful GitHub simulator for tests and the local demo (``janus dev``).

GitHub cannot be reached from the test bed, so the whole GitOps flow runs against this. PyGithub
talks to it through ``base_url``; every repository is a real bare git repository (commits, trees,
merges and SHAs are git's own); webhooks are signed and delivered like GitHub's. The contract
tests validate every REST response against ``@octokit/openapi`` and every delivery against
``@octokit/openapi-webhooks``.

Control API (all thread-safe)::

    from janus.dev.github_sim import GitHubSimulator

    with GitHubSimulator.start() as sim:            # uvicorn thread on 127.0.0.1, free port
        sim.base_url                                # "http://127.0.0.1:PORT" (the REST root)
        tok = sim.add_user("alice", name=None)      # -> personal token (also sim.token("alice"))
        gh = sim.client("alice")                    # PyGithub Github: no retries/sleeps, 10 s
        sim.add_org("acme", admins=["root"])
        sim.add_team("acme", "payments-leads", members=["bob"], maintainers=None)  # -> team id
        sim.set_team_members("acme", "payments-leads", ["bob", "carol"], pending=["dave"])
        full = sim.create_repo("acme", "access", files={"README.md": "hi"},
                               default_branch="main",
                               collaborators={"alice": "write", "root": "admin"},
                               teams={"acme/payments-leads": "write"})   # -> "acme/access"
        sha = sim.push(full, "req-1", {"requests/a.yaml": "...", "old.txt": None},
                       author="alice", message="Request", base=None)     # None deletes a file
        sim.protect_branch(full, "main", required_approvals=1, require_code_owner_reviews=True,
                           dismiss_stale_reviews=True, enforce_admins=False,
                           required_checks=[("janus-policy", app_id)])  # None: any source
        sim.set_collaborator(full, "mallory", "write")
        fork = sim.fork(full, "mallory")            # "mallory/access" (POST .../forks as well)
        sim.push(fork, "evil", {...}, author="mallory", message="x")
        sim.create_pull(full, head="mallory:evil", title="x", author="mallory")  # head.repo = fork
        n = sim.create_pull(full, head="req-1", title="Access", author="alice")
        rid = sim.review(full, n, "bob", "APPROVE")  # APPROVE | REQUEST_CHANGES | COMMENT
        sim.dismiss_review(full, n, rid, actor="root")
        sim.comment(full, n, "bob", "looks fine"); sim.close_pull(full, n, "alice")
        merge_sha = sim.merge(full, n, actor="root", method="merge")  # or "squash"
        sim.pull(full, n)                           # REST-shaped dict
        sim.head(full, "main"); sim.read_file(full, "requests/a.yaml", ref=merge_sha)
        sim.git_dir(full)                           # the bare repo on disk

        app_id, private_key_pem = sim.create_app("janus-app", owner="acme", events=None,
                                                 webhook_url=None, webhook_secret=None)
        sim.bot_login(app_id)                       # "janus-app[bot]" (type Bot)
        inst = sim.install_app(app_id, full)        # -> installation id; PyGithub's AppAuth works
        sim.installation_token(inst, ttl=3600)      # shortcut for an installation token
        sim.set_app_webhook(app_id, url, secret)    # App deliveries carry `installation`

        client_id, client_secret = sim.create_oauth_app("http://127.0.0.1:8000/auth/callback")
        # GitHub's OAuth web flow at {base_url}/login/oauth/authorize and .../access_token
        # (user picked on a page, or ?login=alice for scripts); tokens are gho_...

        hook_id = sim.add_webhook(full, "http://127.0.0.1:9/hook", secret="s", events=["*"])
        sim.deliveries                              # [Delivery] with .guid .event .action
                                                    #  .payload .headers .state .attempts
        sim.set_delivery_mode("sync" | "background" | "hold")
        sim.drop_next(1, event="pull_request"); sim.duplicate_next(1, event=None)
        sim.held_deliveries(); sim.release_held("fifo" | "reverse" | [guid, ...])
        sim.redeliver(guid_or_id)                   # same X-GitHub-Delivery, redelivery=True
        sim.wait_for_deliveries(timeout=10)         # background mode: wait until sent
        sim.exhaust_rate_limit("alice")             # 403 "API rate limit exceeded ..."
        sim.set_limits(tree_entries=3, contents_size=1024)  # make GitHub's limits bite:
                                                    #  truncated trees, encoding "none"
        sim.push_series(full, "long", [{...}, ...], author="alice", message="m")  # many commits
        sim.delete_user("temp")                     # ghost: user null, commit author {}
        sim.rename_repo(full, "access-requests", actor="root")  # same id, new full_name
        sim.recorder.enabled = True                 # keep every REST exchange, then:
        contract.check_simulator(sim)               # -> [Problem] against GitHub's descriptions

Demo world: ``demo.seed_demo(sim)`` (this project's policies/CODEOWNERS in ``acme/access``);
``python -m janus.dev.github_sim --state-file F [--webhook URL --secret S]`` serves it and writes
base URL, tokens and the App key to *F* (mode 0600).

Review page for the demo: ``{base_url}/_sim/`` (repositories → pull requests → a PR page with
files, code owners, reviews, and forms to approve / request changes / merge as any user).

Semantics worth knowing (all as on GitHub): reviews carry ``commit_id`` = head at review time;
pushing to a PR branch changes its head, sends ``synchronize`` and, with
``dismiss_stale_reviews``, dismisses approvals when the diff changed. By default anyone with
write may merge without approval (admins/bypass actors on real GitHub), so Janus must re-verify;
``protect_branch`` adds required approvals and code-owner review, which admins bypass unless
``enforce_admins``. CODEOWNERS is read from the base branch (``.github/``, root, ``docs/``).
Review requests go to eligible code owners (write access) on PR creation, never to the author.
Webhook review states are lower-case. Check runs can only be created by App installations;
each push creates a check suite per installed App and sends ``check_suite.requested`` to that
App's webhook only (``rerequested`` likewise); repository hooks see ``check_suite.completed``.
GitHub's limits and nulls are modelled: a PR's commit list stops at 250 and its file list at
3,000, a commit's files at 3,000 in pages of 300 (compare: 250 commits, 300 files) while the
counts stay true; recursive trees past the entry limit say ``truncated: true``; files past
1 MB come back with ``encoding: "none"``; fork
PRs are left out of check runs' ``pull_requests``; check runs list by ``app_id``; commits made
through the contents API (no custom committer) are GitHub-signed (``verification.verified``),
pushed ones never are.
Webhook events: ping, push, pull_request (opened, edited, synchronize, closed, reopened,
labeled, unlabeled, review_requested), pull_request_review (submitted, dismissed),
issue_comment (created, edited), check_run (created, completed, rerequested), check_suite.
"""

from .delivery import Delivery
from .errors import ApiError
from .server import GitHubSimulator
from .signature import sign_sha256, verify_sha256

__all__ = ["ApiError", "Delivery", "GitHubSimulator", "sign_sha256", "verify_sha256"]
