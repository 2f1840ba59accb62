"""Emails: what each event sends, the templates, delivery through SES from the outbox."""
