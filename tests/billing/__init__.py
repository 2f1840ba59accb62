"""Tests of billing (chalicelib/billing): confirm, decide, references, proofs, jobs, races."""
