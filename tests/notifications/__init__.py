"""Tests of emails (chalicelib/notifications): what is queued, delivery, faults, the dev mailbox."""
