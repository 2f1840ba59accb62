"""Tests of the HTTP layer (chalicelib/api): idempotency, OpenAPI, bad input, CORS, budgets."""
