"""Hostile tests, one file per docs/design.md §9 security invariant."""
