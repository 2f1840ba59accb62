"""Operator tools run against a stage's store, never deployed with the API (they may scan)."""
