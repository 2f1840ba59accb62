"""The admin's desk: the approval queue, a payment's full story, lookup by reference, the system status."""
