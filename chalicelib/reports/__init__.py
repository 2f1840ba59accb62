"""Admin reports and exports: unpaid invoices by age, CSV files of invoices, payments and ledgers."""
