"""The request bodies of the statement routes (loaded with the routes; the code behind them is
loaded on a route's first call)."""
from __future__ import annotations

from chalicelib.core.validation import Text
from chalicelib.statements.model import FORMATS, MAX_BYTES

MAX_BASE64 = (MAX_BYTES + 2) // 3 * 4  # the 4 MB limit, base64-encoded
MAX_BODY = 10 * 1024 * 1024  # API Gateway's limit: a larger file is refused as a statement (413)

IMPORT = {
    "filename": Text(required=True, max_len=255, doc="The file's name (its extension is a hint "
                                                     "to the format)."),
    # as long as the body allows: past 4 MB decoded is 413 (imports.decode_file), not 422
    "content_base64": Text(required=True, min_len=1, max_len=MAX_BODY, multiline=True,
                           doc="The file's bytes, base64-encoded; at most 4 MB decoded."),
    "format": Text(max_len=10, check=lambda v: v if v in FORMATS else None,
                   check_message="must be csv, mt940 or camt053", schema={"enum": list(FORMATS)},
                   doc="csv, mt940 or camt053; detected from the content when absent."),
}
APPLY = {"invoice_id": Text(max_len=64, doc="The invoice the money is for; the line's match when "
                                            "absent (required for an unmatched line).")}
IGNORE = {"reason": Text(required=True, max_len=500, multiline=True,
                         doc="Why the line needs nothing (shown with the line).")}
