"""Notifications (issue 14 item 1): Slack, Microsoft Teams, e-mail and a signed JSON webhook,
sent by the receiver from a persistent outbox. docs/notifications.md says what, when and why.

Layer: above janus.resource (it reads AccessRequestViews), below janus.gitops (whose handlers
call its hooks) — it never imports gitops, webhook or web.
"""

from janus.notify.config import NotifyConfig, load_config, parse_config
from janus.notify.events import Event, EventKind
from janus.notify.notifier import Notifier, build

__all__ = ["Event", "EventKind", "Notifier", "NotifyConfig", "build", "load_config",
           "parse_config"]
