"""Tests of the DynamoDB layer (chalicelib/storage): transactions, cursors, tables, AWS faults."""
