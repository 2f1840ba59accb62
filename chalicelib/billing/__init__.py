"""Invoices and manual payments: confirm, approve or reject, payment references, proofs, the billing jobs."""
