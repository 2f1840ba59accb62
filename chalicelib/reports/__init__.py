"""Reports: the figures the business runs on, kept by the transactions, and exports."""
