"""The admin's desk: the approval queue, a payment's story, lookups, the system status."""
