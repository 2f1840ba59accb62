"""Webhooks: the events of committed changes, signed and delivered to the SaaS's endpoints."""
