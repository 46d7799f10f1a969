"""GitHub side of Janus: PyGithub client, merged-PR verification (docs/design.md §5), AccessRequest
create/extend/revoke, check runs and plan comments, ``/janus revoke``, reconcile and status
write-back. The webhook receiver (:mod:`janus.webhook`) only queues deliveries; everything that
reads GitHub or writes Kubernetes lives here.
"""
