"""The web app's security headers, defined once: the dev server sends them (`devserver.webapp`) and
the optional web-hosting template's CloudFront response headers policy sets them
(`deploy.web_hosting`), so the two cannot drift.

The page may load scripts, styles and fonts only from its own origin (no inline script or style:
the app sets styles through the CSSOM), talk to the API and the proofs bucket (the presigned POST
of a receipt, and the admin's preview of it), and may not be framed.
"""
from __future__ import annotations

from urllib.parse import urlsplit

HSTS_MAX_AGE = 63072000  # two years
HSTS = f"max-age={HSTS_MAX_AGE}; includeSubDomains"
FRAME_OPTIONS = "DENY"
REFERRER_POLICY = "no-referrer"
# Nothing the app uses; denied so an injected or framed page cannot ask for them either.
PERMISSIONS_POLICY = ("camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                      "display-capture=()")


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL (`http://127.0.0.1:8011/api/v1` -> `http://127.0.0.1:8011`)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(api_origin: str, bucket_origin: str | None) -> str:
    """The CSP of the web app whose API is at `api_origin` and whose proofs bucket (uploads and
    receipt previews) is at `bucket_origin` (None: no bucket). Origins are used as given, so a
    template can pass `${ApiOrigin}`."""
    extra = list(dict.fromkeys(o for o in (api_origin, bucket_origin) if o))
    bucket = [bucket_origin] if bucket_origin else []
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *bucket],
        "connect-src": ["'self'", *extra],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(api_origin: str, bucket_origin: str | None, https: bool) -> dict[str, str]:
    """Every security header of a web app response; HSTS only on a response sent over HTTPS (a
    browser ignores it over plain HTTP, and localhost must stay reachable over HTTP)."""
    headers = {
        "Content-Security-Policy": content_security_policy(api_origin, bucket_origin),
        "Referrer-Policy": REFERRER_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": FRAME_OPTIONS,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers
