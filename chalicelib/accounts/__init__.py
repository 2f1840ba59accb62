"""Who can sign in: signup, login, the caller's own view, passwords, tokens, admins."""
