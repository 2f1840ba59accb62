"""The request fields of the admin's account routes (admin.holds is loaded on first use)."""
from __future__ import annotations

from chalicelib.core.validation import Text

REASON = {"reason": Text(required=True, max_len=1000, multiline=True,
                         doc="Why (kept in the account's history).")}
