"""Who can sign in: signup, login, the caller's own view, passwords and tokens, admin users."""
