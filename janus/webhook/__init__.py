"""The GitHub webhook receiver: signature, allow-list, durable dedupe, fast ack, background work.

Pipeline for ``POST /webhooks/github``::

    raw body -> size limit (413) -> content type (415) -> HMAC-SHA256 over the raw bytes (401)
             -> allow-listed event/action? -> persist (delivery id, event, body) in SQLite
             -> 202 -> a worker thread re-reads state from the GitHub API and acts

Nothing a delivery says is trusted beyond "something may have happened to PR n": the workers
(:mod:`janus.gitops`) read the pull request, its files and reviews fresh from the API.
"""
