"""What is owed and paid: invoices, confirm/approve/reject, references, proofs, jobs."""
