"""Clients of the billing API."""
