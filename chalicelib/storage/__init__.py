"""The one place that talks to DynamoDB: the tables by capability, transactions, audit events, the outbox."""
