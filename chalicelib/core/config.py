"""Settings read from the environment, once per container."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlsplit

_TABLE_SUFFIX = "_TABLE"


@dataclass(frozen=True)
class Seller:
    """Who issues the invoices, as their PDFs name the seller (SELLER_*; dev defaults)."""

    name: str
    address: tuple[str, ...]  # lines
    tax_id: str
    email: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Seller:
        address = (env.get("SELLER_ADDRESS")
                   or "100 Example Street, Suite 200;Wilmington, DE 19801;United States")
        return cls(name=env.get("SELLER_NAME") or "Ledgerline Technologies LLC",
                   address=tuple(line.strip() for line in address.split(";") if line.strip()),
                   tax_id=env.get("SELLER_TAX_ID") or "EIN 00-0000000",
                   email=env.get("SELLER_EMAIL") or env.get("MAIL_FROM") or "billing@example.com")


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    stage: str
    table_prefix: str
    region: str
    dynamodb_endpoint_url: str | None
    jwt_secret: str
    jwt_issuer: str
    jwt_ttl_seconds: int
    password_profile: str
    counter_shards: int
    invoice_due_days: int
    max_body_bytes: int
    mail_from: str
    admin_notify_email: str
    web_app_url: str
    mail_max_attempts: int
    mail_retry_base_seconds: int
    ses_endpoint_url: str | None
    mailbox_dir: str | None
    login_max_failures: int
    login_max_failures_per_client: int
    login_window_seconds: int
    reminder_days_before: int
    invoice_grace_days: int
    approval_sla_hours: int
    renewal_lead_days: int
    dunning_grace_days: int
    cancel_after_days: int
    trial_days: int
    trial_ending_days: int
    index_shards: int
    job_time_limit_seconds: int
    proof_bucket: str
    s3_endpoint_url: str | None
    # An admin export (CSV) larger than this, as the function's response carries it, is written to
    # the proofs bucket (`exports/`) and answered with a link: Lambda answers at most 6 MB.
    export_inline_max_bytes: int = 5 * 1024 * 1024
    seller: Seller = field(default_factory=lambda: Seller.from_environment({}))
    jwt_secret_parameter: str | None = None
    # A payment this much (percent of the amount due) short of it counts as full: bank and wallet
    # fees; the shortfall is written off on approval. A method may set its own.
    payment_tolerance_percent: Decimal = Decimal("1.0")
    # A payment worth more than this (minor units of the invoice currency) needs two approvers.
    second_approval_above_minor: int = 50000
    table_names: Mapping[str, str] = field(default_factory=dict)
    # Sessions and account recovery: refresh tokens, reset and verification links, reset throttling.
    refresh_ttl_seconds: int = 30 * 86400
    reset_ttl_seconds: int = 3600
    verify_ttl_seconds: int = 48 * 3600
    reset_max_per_email: int = 3
    reset_max_per_client: int = 10
    reset_window_seconds: int = 3600
    # Signups per client address, and signups naming one billing contact (each sends it a
    # verification email), in signup_window_seconds before 429.
    signup_max_per_client: int = 20
    signup_max_per_contact: int = 3
    signup_window_seconds: int = 3600
    # Webhook endpoints on loopback (http://127.0.0.1, localhost): `make dev` and the tests only;
    # a deployed stage takes https to public addresses alone.
    webhook_allow_local: bool = False

    @property
    def web_origin(self) -> str:
        """The web app's origin (scheme://host[:port]), the only one CORS allows."""
        parts = urlsplit(self.web_app_url)
        return f"{parts.scheme}://{parts.netloc}"

    def table_name(self, entity: str) -> str:
        """The DynamoDB table name of an entity: its `<ENTITY>_TABLE` variable (set by the
        deployment template), else `<prefix>-<entity>`, e.g. `billing-dev-invoices`."""
        return self.table_names.get(entity) or f"{self.table_prefix}-{entity}"


def table_variable(entity: str) -> str:
    """The environment variable naming an entity's table, e.g. `PAYMENT_METHODS_TABLE`."""
    return f"{entity.upper()}{_TABLE_SUFFIX}"


def stream_variable(entity: str) -> str:
    """The environment variable holding an entity's table stream ARN, e.g. `OUTBOX_STREAM_ARN`."""
    return f"{entity.upper()}_STREAM_ARN"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _money(name: str, default: str) -> int:
    """An amount such as 500.00 as minor units (two decimals, never a float)."""
    from chalicelib.core.money import parse_amount

    return parse_amount(os.environ.get(name) or default)


def _percent(name: str, default: str) -> Decimal:
    """A percentage from 0 to 50 as a Decimal (never a float)."""
    value = Decimal(os.environ.get(name) or default)
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(50):
        raise ValueError(f"{name} must be a percentage from 0 to 50")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, read lazily so tests can set the environment first."""
    prefix = os.environ.get("TABLE_PREFIX", "billing-dev")
    return Settings(
        stage=os.environ.get("STAGE", "dev"),
        table_prefix=prefix,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        dynamodb_endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        jwt_secret=os.environ.get("JWT_SECRET", ""),
        jwt_issuer=os.environ.get("JWT_ISSUER", "billing-api"),
        jwt_ttl_seconds=_int("JWT_TTL_SECONDS", 900),
        password_profile=os.environ.get("PASSWORD_HASH_PROFILE", "rfc_9106_low_memory"),
        counter_shards=_int("COUNTER_SHARDS", 4),
        invoice_due_days=_int("INVOICE_DUE_DAYS", 7),
        max_body_bytes=_int("MAX_BODY_BYTES", 16384),
        mail_from=os.environ.get("MAIL_FROM") or "billing@example.com",
        admin_notify_email=os.environ.get("ADMIN_NOTIFY_EMAIL") or "admins@example.com",
        web_app_url=(os.environ.get("WEB_APP_URL") or "http://127.0.0.1:8012").rstrip("/"),
        mail_max_attempts=max(1, _int("MAIL_MAX_ATTEMPTS", 5)),
        mail_retry_base_seconds=max(1, _int("MAIL_RETRY_BASE_SECONDS", 60)),
        ses_endpoint_url=os.environ.get("SES_ENDPOINT_URL") or None,
        mailbox_dir=os.environ.get("MAILBOX_DIR") or None,
        login_max_failures=max(1, _int("LOGIN_MAX_FAILURES", 5)),
        login_max_failures_per_client=max(1, _int("LOGIN_MAX_FAILURES_PER_CLIENT", 20)),
        login_window_seconds=max(60, _int("LOGIN_WINDOW_SECONDS", 900)),
        reminder_days_before=max(0, _int("REMINDER_DAYS_BEFORE", 2)),
        invoice_grace_days=max(0, _int("INVOICE_GRACE_DAYS", 7)),
        approval_sla_hours=max(1, _int("APPROVAL_SLA_HOURS", 24)),
        renewal_lead_days=max(0, _int("RENEWAL_LEAD_DAYS", 7)),
        dunning_grace_days=max(0, _int("DUNNING_GRACE_DAYS", 7)),
        cancel_after_days=max(1, _int("CANCEL_AFTER_DAYS", 30)),
        trial_days=max(1, _int("TRIAL_DAYS", 14)),
        trial_ending_days=max(0, _int("TRIAL_ENDING_DAYS", 3)),
        index_shards=max(1, _int("INDEX_SHARDS", 4)),
        payment_tolerance_percent=_percent("PAYMENT_TOLERANCE_PERCENT", "1.0"),
        second_approval_above_minor=_money("SECOND_APPROVAL_ABOVE", "500.00"),
        job_time_limit_seconds=max(1, _int("JOB_TIME_LIMIT_SECONDS", 240)),
        proof_bucket=os.environ.get("PROOF_BUCKET") or f"{prefix}-proofs",
        s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        export_inline_max_bytes=max(0, _int("EXPORT_INLINE_MAX_BYTES", 5 * 1024 * 1024)),
        seller=Seller.from_environment(os.environ),
        jwt_secret_parameter=os.environ.get("JWT_SECRET_PARAMETER") or None,
        refresh_ttl_seconds=max(60, _int("REFRESH_TTL_SECONDS", 30 * 86400)),
        reset_ttl_seconds=max(60, _int("RESET_TTL_SECONDS", 3600)),
        verify_ttl_seconds=max(60, _int("VERIFY_TTL_SECONDS", 48 * 3600)),
        reset_max_per_email=max(1, _int("RESET_MAX_PER_EMAIL", 3)),
        reset_max_per_client=max(1, _int("RESET_MAX_PER_CLIENT", 10)),
        reset_window_seconds=max(60, _int("RESET_WINDOW_SECONDS", 3600)),
        signup_max_per_client=max(1, _int("SIGNUP_MAX_PER_CLIENT", 20)),
        signup_max_per_contact=max(1, _int("SIGNUP_MAX_PER_CONTACT", 3)),
        signup_window_seconds=max(60, _int("SIGNUP_WINDOW_SECONDS", 3600)),
        table_names={name[:-len(_TABLE_SUFFIX)].lower(): value for name, value in os.environ.items()
                     if name.endswith(_TABLE_SUFFIX) and value},
        webhook_allow_local=os.environ.get("WEBHOOK_ALLOW_LOCAL") == "1",
    )


def outbox_stream_arn() -> str | None:
    """The outbox table's stream ARN; `app.py` reads it at import to register the stream handler."""
    return os.environ.get(stream_variable("outbox")) or None


def reset_settings() -> None:
    """Forget the cached settings (tests and the dev server change the environment)."""
    get_settings.cache_clear()
