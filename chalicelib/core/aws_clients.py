"""The boto3 clients of this container (SES, S3): made on first use, not at `import app` (cold
start), then kept; a changed endpoint (tests, the dev server) gets a client of its own."""
from __future__ import annotations

from typing import Any

from chalicelib.core.config import get_settings

_clients: dict[tuple[str, str, str | None], Any] = {}


def client(service: str, endpoint_url: str | None, **config: Any) -> Any:
    """This container's client of `service` at `endpoint_url` (None: AWS), with botocore `config`."""
    region = get_settings().region
    key = (service, region, endpoint_url)
    if key not in _clients:
        import boto3
        from botocore.config import Config

        _clients[key] = boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                                     config=Config(**config))
    return _clients[key]
