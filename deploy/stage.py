"""A stage of .chalice/config.json as the deployment sees it: names, environment, prefixes."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice.config import Config

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_FILE = PROJECT_DIR / ".chalice" / "config.json"


@dataclass(frozen=True)
class Stage:
    """One stage: its Chalice config, read without importing the app."""

    name: str

    @cached_property
    def config(self) -> Config:
        from_disk: dict[str, Any] = json.loads(CONFIG_FILE.read_text())
        if self.name not in from_disk.get("stages", {}):
            raise SystemExit(f"no stage '{self.name}' in {CONFIG_FILE}")
        return Config(chalice_stage=self.name, config_from_disk=from_disk,
                      default_params={"project_dir": str(PROJECT_DIR), "api_gateway_stage": "api"})

    @property
    def app_name(self) -> str:
        return str(self.config.app_name)

    @property
    def environment(self) -> dict[str, str]:
        """The stage's environment variables (what the functions get besides the template's)."""
        return dict(self.config.environment_variables)

    @property
    def table_prefix(self) -> str:
        return self.environment.get("TABLE_PREFIX") or f"{self.app_name}-{self.name}"

    def table_name(self, entity: str) -> str:
        """The name of an entity's table on this stage, e.g. `billing-prod-payments`."""
        return f"{self.table_prefix}-{entity}"

    @property
    def function_prefix(self) -> str:
        """What Chalice names the functions: `<app>-<stage>` (API) and `<app>-<stage>-<name>`."""
        return f"{self.app_name}-{self.name}"

    @property
    def api_gateway_stage(self) -> str:
        return str(self.config.api_gateway_stage)

    @property
    def jwt_secret_parameter(self) -> str | None:
        """The SSM parameter holding the token secret, when the stage names one."""
        return self.environment.get("JWT_SECRET_PARAMETER") or None

    @property
    def proof_bucket_prefix(self) -> str:
        """The proofs bucket's name before `-<account>-<region>` (bucket names are global)."""
        return f"{self.table_prefix}-proofs"

    @property
    def proof_bucket_name(self) -> str:
        """The proofs bucket's name as `Fn::Sub` makes it: `<prefix>-<account id>-<region>`."""
        return f"{self.proof_bucket_prefix}-${{AWS::AccountId}}-${{AWS::Region}}"

    @property
    def mail_from(self) -> str:
        return self.environment.get("MAIL_FROM") or "billing@example.com"

    @property
    def web_origin(self) -> str | None:
        """The web app's origin, when the stage sets WEB_APP_URL."""
        url = self.environment.get("WEB_APP_URL")
        if not url:
            return None
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def number(self, name: str, default: int) -> int:
        """A whole-number deploy setting of the stage's environment (e.g. API_THROTTLE_RATE)."""
        value = self.environment.get(name)
        if value in (None, ""):
            return default
        if not str(value).isdigit():
            raise SystemExit(f"{name} must be a whole number, not {value!r}")
        return int(value)


def stage_names() -> list[str]:
    """Every stage in .chalice/config.json."""
    return sorted(json.loads(CONFIG_FILE.read_text()).get("stages", {}))
