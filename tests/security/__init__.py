"""Hostile tests, one file per DESIGN §9 security invariant."""
