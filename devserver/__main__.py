"""`python -m devserver`: what `make dev` runs."""
from __future__ import annotations

import os
import sys
from typing import Any

from devserver import stack as local_stack


def main() -> int:
    port = int(os.environ.get("PORT", "8011"))
    dynamodb_port = int(os.environ.get("DYNAMODB_PORT", "8000"))
    web_port = int(os.environ.get("WEB_PORT", "8012"))
    try:
        stack = local_stack.start(port=port, dynamodb_port=dynamodb_port, web_port=web_port)
    except OSError as exc:
        print(f"Could not start: {exc}. Is another server using port {port}, {dynamodb_port} or "
              f"{web_port}? Set PORT / DYNAMODB_PORT / WEB_PORT to free ports.", file=sys.stderr)
        return 1
    forwarding = None
    if os.environ.get("WEBHOOK_FORWARD_URL"):
        forwarding = _forwarding(os.environ["WEBHOOK_FORWARD_URL"], stack.admin_email)
        if forwarding is None:
            stack.stop(served=False)
            return 1
    print(f"API:      {stack.api_url}/api/v1  (OpenAPI: {stack.api_url}/api/v1/openapi.json)")
    print(f"Web app:  {stack.web_url}  (the links in emails open it: WEB_APP_URL="
          f"{os.environ['WEB_APP_URL']})")
    print(f"DynamoDB: {stack.dynamodb_endpoint}  (e.g. aws dynamodb list-tables --endpoint-url "
          f"{stack.dynamodb_endpoint} --region us-east-1)")
    if stack.data_dir and stack.dynamo:
        print(f"Data:     {stack.data_dir}  ({stack.dynamo.restored} writes restored; kept across "
              "restarts; `make reset` deletes it)")
    print(f"Mailbox:  {stack.mailbox}  (a copy of each email sent, as .eml; SES at "
          f"{stack.ses_endpoint})")
    if stack.admin_email:
        print(f"Admin:    {stack.admin_email} / {stack.admin_password}  "
              f"(set ADMIN_EMAIL / ADMIN_PASSWORD to change)")
    if forwarding:
        print(forwarding.banner())
    if not stack.webhook_worker:
        print("Webhooks: no delivery worker (WEBHOOK_WORKER=0): events wait for a delivery run")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        stack.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


def _forwarding(url: str, admin_email: str | None) -> Any:
    """WEBHOOK_FORWARD_URL's endpoint (devserver.forward), or None once it said why it cannot."""
    from chalicelib.core.errors import AppError
    from devserver import forward

    try:
        return forward.ensure(url, admin_email or "devserver")
    except AppError as refused:
        print(f"WEBHOOK_FORWARD_URL={url}: {refused.message} Set it to where your receiver "
              "listens, e.g. http://127.0.0.1:9000/hooks.", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
