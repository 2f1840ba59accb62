"""The OpenAPI description, built from the route table, field specs and schemas."""
