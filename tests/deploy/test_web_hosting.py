"""The optional web-hosting template (`deploy.web_hosting`): a private bucket read only by its
CloudFront distribution, the SPA's error mapping, and the dev server's security headers, set by a
CloudFront response headers policy (`make package` writing it and cfn-lint: test_package.py)."""
from __future__ import annotations

import re
import urllib.request
from typing import Any

from deploy import web_hosting
from devserver.webapp import WebApp

API = "https://abc123.execute-api.eu-west-1.amazonaws.com"
BUCKET = "https://s3.eu-west-1.amazonaws.com"
NOT_SECURITY = {"server", "date", "content-type", "content-length", "last-modified", "cache-control"}


def _resources() -> dict[str, Any]:
    return web_hosting.web_hosting_template()["Resources"]


def _cloudfront_headers(parameters: dict[str, str]) -> dict[str, str]:
    """The headers the response headers policy adds to a response, the parameters filled in."""
    config = _resources()["ResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    for name, value in parameters.items():
        csp = csp.replace(f"${{{name}}}", value)
    hsts = security["StrictTransportSecurity"]
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}"
                                     + ("; includeSubDomains" if hsts["IncludeSubdomains"] else "")
                                     + ("; preload" if hsts["Preload"] else ""),
    }
    assert all(part["Override"] for part in security.values() if isinstance(part, dict))
    headers.update({item["Header"]: item["Value"] for item in config["CustomHeadersConfig"]["Items"]
                    if item["Override"]})
    return headers


def _dev_server_headers(forwarded_proto: str) -> dict[str, str]:
    """The security headers the dev server sends for the same origins."""
    app = WebApp("127.0.0.1", 0).start(f"{API}/api/v1", bucket_origin=f"{BUCKET}/billing-dev-proofs")
    try:
        request = urllib.request.Request(f"{app.url}/", headers={"X-Forwarded-Proto": forwarded_proto})
        with urllib.request.urlopen(request, timeout=5) as response:
            return {name: value for name, value in response.headers.items()
                    if name.lower() not in NOT_SECURITY}
    finally:
        app.stop()


def test_cloudfront_sets_exactly_the_headers_the_dev_server_sends_over_https() -> None:
    cloudfront = _cloudfront_headers({"ApiOrigin": API, "BucketOrigin": BUCKET})
    assert cloudfront == _dev_server_headers("https")
    assert f"connect-src 'self' {API} {BUCKET}" in cloudfront["Content-Security-Policy"]
    assert cloudfront["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_every_viewer_response_goes_through_the_policy_over_https() -> None:
    config = _resources()["Distribution"]["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": "ResponseHeadersPolicy"}
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"


def test_app_paths_are_answered_with_index_html() -> None:
    # S3 says 403 for a key that is not there (no list rights), 404 with them: both are app paths
    errors = _resources()["Distribution"]["Properties"]["DistributionConfig"]["CustomErrorResponses"]
    assert {(e["ErrorCode"], e["ResponseCode"], e["ResponsePagePath"]) for e in errors} == {
        (403, 200, "/index.html"), (404, 200, "/index.html")}


def test_the_bucket_is_private_and_read_only_by_the_distribution() -> None:
    resources = _resources()
    bucket = resources["SiteBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    origin = resources["Distribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    oac = resources["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    [statement] = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${Distribution}")


def test_the_origins_are_parameters_that_must_be_origins() -> None:
    parameters = web_hosting.web_hosting_template()["Parameters"]
    assert set(parameters) == {"ApiOrigin", "BucketOrigin"}
    for parameter in parameters.values():
        pattern = re.compile(parameter["AllowedPattern"])
        assert pattern.match(API) and pattern.match(BUCKET)
        assert not pattern.match(f"{API}/api/v1") and not pattern.match("abc.example.com")

