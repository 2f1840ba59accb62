"""Credits: the ledger every balance is the sum of."""
