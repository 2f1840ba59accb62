"""`make bench`: how fast and how lean the API is (a report, not a test)."""
