"""The local stack: an embedded, serialized moto DynamoDB, the API served by chalice local, and the
web app's static files."""
