"""`make dev WEBHOOK_FORWARD_URL=...` in-process (devserver.forward and the banner of
devserver.__main__): one endpoint for every event, kept with its secret across restarts, and a URL
that could not receive webhooks refused before anything is served. Over real HTTP, with events
arriving: tests/stack/test_live_webhooks.py."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.core.errors import Invalid
from chalicelib.storage.models.webhooks import WebhookEndpointModel
from chalicelib.webhooks import endpoints
from devserver import __main__ as devserver_main
from devserver import forward
from tests.conftest import ADMIN_EMAIL
from tests.helpers import store_unchanged

URL = "http://127.0.0.1:9000/hooks"


def test_one_endpoint_for_every_event_kept_with_its_secret_across_restarts(aws: None) -> None:
    # Given make dev started with WEBHOOK_FORWARD_URL
    first = forward.ensure(URL, ADMIN_EMAIL)
    made = WebhookEndpointModel.get(first.endpoint_id)
    assert first.created and first.secret.startswith("whsec_")
    assert (made.url, made.events, made.status, made.created_by) == (URL, ["*"], "enabled", ADMIN_EMAIL)
    # When it starts again with the same URL (its data kept)
    again = forward.ensure(URL, ADMIN_EMAIL)
    # Then the same endpoint is used, no second one, and the secret printed is still the one
    # that signs (no rotation: one v1 per event)
    assert (again.created, again.endpoint_id, again.secret) == (False, first.endpoint_id, first.secret)
    assert [e.endpoint_id for e in endpoints.listing()] == [first.endpoint_id]
    kept = WebhookEndpointModel.get(first.endpoint_id)
    assert endpoints.signing_secrets(kept, datetime.now(timezone.utc)) == [first.secret]
    assert f"forwarding every event to {URL}, signed with {first.secret}" in again.banner()


def test_a_disabled_endpoint_is_left_for_its_log_and_a_new_one_is_made(aws: None) -> None:
    first = forward.ensure(URL, ADMIN_EMAIL)
    WebhookEndpointModel.get(first.endpoint_id).update(
        actions=[WebhookEndpointModel.status.set(endpoints.DISABLED)])
    again = forward.ensure(URL, ADMIN_EMAIL)
    assert again.created and again.endpoint_id != first.endpoint_id
    assert sorted(e.status for e in endpoints.listing()) == ["disabled", "enabled"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hooks", "http://10.0.0.5/hooks", "not a url"])
def test_a_url_that_cannot_receive_webhooks_is_refused_and_nothing_is_written(
        aws: None, url: str) -> None:
    with store_unchanged(), pytest.raises(Invalid) as refused:
        forward.ensure(url, ADMIN_EMAIL)
    assert refused.value.code == "webhook_url_not_allowed"


class _Stack(SimpleNamespace):
    """What devserver.__main__ reads of a started stack, serving nothing."""

    def __init__(self) -> None:
        super().__init__(api_url="http://127.0.0.1:1", web_url="http://127.0.0.1:2",
                         dynamodb_endpoint="http://127.0.0.1:3", data_dir=None, dynamo=None,
                         mailbox="mailbox", ses_endpoint="ses", admin_email=ADMIN_EMAIL,
                         admin_password="pw", webhook_worker=object(), stopped=[],
                         server=SimpleNamespace(serve_forever=self._serve))
        self.served = False

    def _serve(self) -> None:
        self.served = True
        raise KeyboardInterrupt

    def stop(self, served: bool = True) -> None:
        self.stopped.append(served)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> _Stack:
    stack = _Stack()
    monkeypatch.setattr(devserver_main.local_stack, "start", lambda **kw: stack)
    monkeypatch.setenv("WEB_APP_URL", stack.web_url)
    return stack


def test_make_dev_prints_the_forwarding_line_with_the_secret(
        aws: None, started: _Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("WEBHOOK_FORWARD_URL", URL)
    assert devserver_main.main() == 0
    [endpoint] = endpoints.listing()
    secret = endpoints.signing_secrets(endpoint, datetime.now(timezone.utc))[0]
    assert (f"Webhooks: forwarding every event to {URL}, signed with {secret} "
            '(README: "Verify a signature")') in capsys.readouterr().out.splitlines()
    assert started.served and started.stopped == [True]


def test_make_dev_with_a_bad_url_says_why_and_exits_before_serving(
        aws: None, started: _Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("WEBHOOK_FORWARD_URL", "http://10.0.0.5/hooks")
    with store_unchanged():
        assert devserver_main.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("WEBHOOK_FORWARD_URL=http://10.0.0.5/hooks: This URL cannot receive "
                          "webhooks: 10.0.0.5 is"), err
    assert not started.served and started.stopped == [False]
