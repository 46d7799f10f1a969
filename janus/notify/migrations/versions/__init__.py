"""Revisions of the notification outbox tables."""
