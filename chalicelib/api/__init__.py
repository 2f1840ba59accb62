"""The HTTP layer every capability's routes share: declaration, auth, idempotency, error shape, OpenAPI."""
