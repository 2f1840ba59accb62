"""Reports: monthly figures kept by the transactions, unpaid invoices by age, CSV exports."""
