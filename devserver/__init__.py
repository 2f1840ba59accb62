"""The local stack: an embedded, serialized moto DynamoDB, the API served by chalice local, and the
web app's static files."""

# The admin `make dev` creates (unless ADMIN_EMAIL / ADMIN_PASSWORD say otherwise); `make listen`
# logs in as it. Here, not in devserver.stack, so that reading them loads nothing else.
DEV_ADMIN_EMAIL = "admin@example.com"
DEV_ADMIN_PASSWORD = "admin-password-dev"
