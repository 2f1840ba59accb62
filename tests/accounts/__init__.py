"""Tests of accounts (chalicelib/accounts): signup, login, throttling, tokens, isolation."""
