"""The local stack: an embedded, serialized moto DynamoDB and the API served by chalice local."""
