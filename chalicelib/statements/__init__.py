"""Bank statements: CSV, MT940 and camt.053 files read into lines with exact amounts."""
