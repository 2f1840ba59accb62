"""Tests of the admin's desk (chalicelib/admin): queue, payment detail, lookups, status."""
