"""Tests of outgoing webhooks (chalicelib/webhooks): allowed targets, one delivery attempt."""
