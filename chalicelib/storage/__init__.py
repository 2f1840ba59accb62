"""The one place that talks to DynamoDB: tables, transactions, audit events, the outbox."""
