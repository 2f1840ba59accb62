"""The OpenAPI description, generated from the route table, the field specs and the response schemas."""
