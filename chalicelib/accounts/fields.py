"""The request fields of the session and recovery routes (apart from the modules that serve
them: `import app` loads those only on their first request)."""
from __future__ import annotations

from chalicelib.core.validation import Text

NEW_PASSWORD = Text(required=True, min_len=10, max_len=256, strip=False,
                    check=lambda p: p if p.strip() else None,
                    check_message="must not be only spaces", doc="Not trimmed.",
                    schema={"format": "password"})
REFRESH = {"refresh_token": Text(required=True, max_len=200, strip=False,
                                 doc="The refresh token of the last login or refresh.")}
# Any text is taken (lower-cased, as signup stores emails): one that is no account's gets the
# same 202 as one that is.
RESET_REQUEST = {"email": Text(required=True, max_len=254, lower=True,
                               doc="The account's email (lower-cased before lookup).")}
RESET_COMPLETE = {
    "token": Text(required=True, max_len=200, strip=False,
                  doc="The `token` of the reset link (`/reset-password?token=...`)."),
    "password": NEW_PASSWORD,
}
PASSWORD_CHANGE = {
    "current_password": Text(required=True, max_len=256, strip=False, schema={"format": "password"}),
    "new_password": NEW_PASSWORD,
}
VERIFY_EMAIL = {"token": Text(required=True, max_len=200, strip=False,
                              doc="The `token` of the verification link (`/verify-email?token=...`).")}
