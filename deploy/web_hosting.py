"""The optional web-hosting template (`build/web-hosting.json`, written by `make package`): the web
app's static files in a private S3 bucket, served over HTTPS by a CloudFront distribution.

- The bucket has no public access: CloudFront reads it through an Origin Access Control, and the
  bucket policy lets only this distribution do so.
- An app path (`/billing/invoices/inv_...`) is no object: S3 answers 403 (404 with list rights), and
  both become `/index.html` with status 200, so the links in emails open the right screen.
- A response headers policy sets the security headers of `deploy.headers` on every response, with
  the same Content-Security-Policy the dev server sends; the API's origin and the proofs bucket's
  origin are parameters.
"""
from __future__ import annotations

from typing import Any

from deploy import headers

# CloudFront's managed cache policy "CachingOptimized" (honours the objects' Cache-Control).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ORIGIN_PATTERN = r"^https?://[^/\s]+$"


def content_security_policy() -> dict[str, Any]:
    """The CSP with the stack's parameters in place of the origins."""
    return {"Fn::Sub": headers.content_security_policy("${ApiOrigin}", "${BucketOrigin}")}


def response_headers_policy() -> dict[str, Any]:
    """CloudFront's response headers policy: every header `deploy.headers.security_headers` makes
    for an HTTPS response (CloudFront redirects HTTP to HTTPS, so each response is one)."""
    security = {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": content_security_policy(), "Override": True},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"FrameOption": headers.FRAME_OPTIONS, "Override": True},
        "ReferrerPolicy": {"ReferrerPolicy": headers.REFERRER_POLICY, "Override": True},
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": headers.HSTS_MAX_AGE,
                                    "IncludeSubdomains": True, "Preload": False, "Override": True},
    }
    custom = [{"Header": "Permissions-Policy", "Value": headers.PERMISSIONS_POLICY, "Override": True},
              # unless the object says otherwise (upload config.js and index.html with no-cache)
              {"Header": "Cache-Control", "Value": "no-cache", "Override": False}]
    return {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Properties": {"ResponseHeadersPolicyConfig": {
        "Name": {"Fn::Sub": "${AWS::StackName}-security-headers"},
        "Comment": "The web app's security headers (deploy/headers.py)",
        "SecurityHeadersConfig": security,
        "CustomHeadersConfig": {"Items": custom}}}}


def _parameters() -> dict[str, Any]:
    return {
        "ApiOrigin": {"Type": "String", "AllowedPattern": ORIGIN_PATTERN,
                      "Description": "The API's origin, e.g. https://abc123.execute-api.eu-west-1."
                                     "amazonaws.com (the scheme and host of config.js' apiBaseUrl)"},
        "BucketOrigin": {"Type": "String", "AllowedPattern": ORIGIN_PATTERN,
                         "Description": "The origin of the proofs bucket's presigned URLs (receipt "
                                        "uploads and previews): https://s3.<region>.amazonaws.com, "
                                        "or https://s3.amazonaws.com in us-east-1"},
    }


def _bucket() -> dict[str, Any]:
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}}


def _bucket_policy() -> dict[str, Any]:
    """Only this distribution (through its Origin Access Control) reads the files."""
    return {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": {"Ref": "SiteBucket"},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "CloudFrontReads", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
            "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": (
                "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}")}}}}]}}}


def _distribution() -> dict[str, Any]:
    spa = [{"ErrorCode": code, "ResponseCode": 200, "ResponsePagePath": "/index.html",
            "ErrorCachingMinTTL": 0} for code in (403, 404)]
    return {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
        "Comment": {"Fn::Sub": "${AWS::StackName}: the web app"},
        "Enabled": True, "HttpVersion": "http2and3", "IPV6Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": [{"Id": "site", "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                     "OriginAccessControlId": {"Fn::GetAtt": ["OriginAccessControl", "Id"]},
                     "S3OriginConfig": {"OriginAccessIdentity": ""}}],
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED,
            "ResponseHeadersPolicyId": {"Ref": "ResponseHeadersPolicy"}},
        "CustomErrorResponses": spa,
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}}}


def web_hosting_template() -> dict[str, Any]:
    """The whole template (plain CloudFormation, no transform)."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The billing web app: a private S3 bucket behind CloudFront, with security headers",
        "Parameters": _parameters(),
        "Resources": {
            "SiteBucket": _bucket(),
            "SiteBucketPolicy": _bucket_policy(),
            "OriginAccessControl": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
                "OriginAccessControlConfig": {
                    "Name": {"Fn::Sub": "${AWS::StackName}-web"}, "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
            "ResponseHeadersPolicy": response_headers_policy(),
            "Distribution": _distribution(),
        },
        "Outputs": {
            "WebAppUrl": {"Description": "The site's URL: the API stage's WEB_APP_URL",
                          "Value": {"Fn::Sub": "https://${Distribution.DomainName}"}},
            "SiteBucketName": {"Description": "Upload web/ here (aws s3 sync web/ s3://<it>/)",
                               "Value": {"Ref": "SiteBucket"}},
            "DistributionId": {"Description": "For aws cloudfront create-invalidation",
                               "Value": {"Ref": "Distribution"}},
        },
    }
