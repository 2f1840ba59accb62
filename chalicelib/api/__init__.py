"""The HTTP layer all routes share: declaration, roles, idempotency, errors, OpenAPI."""
