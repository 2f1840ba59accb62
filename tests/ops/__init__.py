"""Tests of make verify (ops/integrity.py): every rule on a corrupted store, and on a live one."""
