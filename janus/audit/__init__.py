"""``janus audit``: who had (or was waiting for) which access, from a plain clone of the access
repository — no cluster, no network (docs/design.md §11).

The ledger (:mod:`janus.model.ledger`) is the record: one entry per grant under ``ledger/``. The
modules here read a clone with ``git`` itself (:mod:`janus.audit.gitrepo`), answer "who had what
at T / during [since, until)" (:mod:`janus.audit.query`), check the ledger against the history
(:mod:`janus.audit.verify`) and print the answers (:mod:`janus.audit.render`). The selection is
pure (:func:`janus.audit.query.select`); only the readers run ``git``.
"""

from janus.audit.gitrepo import GitRepo, RepoError
from janus.audit.timespec import TIME_ACCEPTED, parse_when

__all__ = ["TIME_ACCEPTED", "GitRepo", "RepoError", "parse_when"]
