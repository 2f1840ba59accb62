"""Outgoing webhooks: where they may be sent and how one attempt is delivered safely."""
