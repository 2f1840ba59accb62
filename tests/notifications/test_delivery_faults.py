"""Email delivery when a sender dies or DynamoDB fails: no message is lost, none is sent twice.

The outbox's recovery paths (storage/outbox.py, notifications/delivery.py): a message whose sender
died on its last attempt is parked; a claim whose lease ran out is taken over, and the old sender's
late report is refused; a DynamoDB fault while delivering leaves the message as it was, deliverable.
Faults are raised by a botocore `before-call` hook on the app's DynamoDB client, as in
test_faults.py; SES is moto's, and every email it accepts is recorded.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core.clock import now, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unavailable
from chalicelib.notifications import delivery
from chalicelib.storage import outbox, store
from chalicelib.storage.models.platform import OutboxModel
from tests.helpers import verified_addresses  # noqa: F401 - an autouse fixture
from tests.conftest import Api, PaidSignup

ABANDONED = "The last attempt did not finish (the worker stopped)."




@pytest.fixture
def sent(api: Api) -> Iterator[list[str]]:
    """The recipients of every email SES accepts while the test runs, in order."""
    delivery.ses_client().verify_email_identity(EmailAddress=get_settings().mail_from)
    recipients: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation_name: str, params: Any) -> Any:
        result = original(self, operation_name, params)
        if self.meta.service_model.service_name == "ses" and operation_name == "SendEmail":
            recipients.extend(params["Destination"]["ToAddresses"])
        return result

    botocore.client.BaseClient._make_api_call = spy
    try:
        yield recipients
    finally:
        botocore.client.BaseClient._make_api_call = original


def throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                       operation)


def unreachable(operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


FAULTS = {"throttled": throttled, "unreachable": unreachable}


@pytest.fixture
def inject() -> Iterator[Callable[..., Callable[[], None]]]:
    """inject(operation, fault, when=None): the DynamoDB calls of that operation fail (only the
    n-th calls for which `when(n)` is true, if given) until the returned function is called or
    the test ends."""
    events = store.connection().client.meta.events
    added: list[tuple[str, Any]] = []

    def add(operation: str, fault: Callable[[str], Exception],
            when: Callable[[int], bool] | None = None) -> Callable[[], None]:
        calls = {"n": 0}

        def fail(**_: Any) -> None:
            calls["n"] += 1
            if when is None or when(calls["n"]):
                raise fault(operation)
        event = f"before-call.dynamodb.{operation}"
        events.register(event, fail)
        added.append((event, fail))
        return lambda: events.unregister(event, fail)

    yield add
    for event, handler in added:
        events.unregister(event, handler)


def stored(message_id: str) -> OutboxModel:
    return OutboxModel.get(message_id, consistent_read=True)


def only_message() -> OutboxModel:
    [message] = OutboxModel.scan(consistent_read=True)
    return message


# A sender that died --------------------------------------------------------------------------

def test_a_message_whose_sender_died_on_its_last_attempt_is_parked_after_the_lease(
        api: Api, paid_signup: PaidSignup, sent: list[str]) -> None:
    # Given a message claimed for every allowed attempt by senders that each died mid-send
    message_id = only_message().message_id
    max_attempts = get_settings().mail_max_attempts
    start = now()
    for attempt in range(max_attempts):
        at = start + attempt * (outbox.LEASE + timedelta(seconds=1))
        assert outbox.claim(stored(message_id), at) is not None
    last = start + (max_attempts - 1) * (outbox.LEASE + timedelta(seconds=1))
    # While the last lease runs, no drain touches it
    assert delivery.drain(last + outbox.LEASE - timedelta(seconds=1)) == []
    # When a drain runs after the last lease
    later = last + outbox.LEASE + timedelta(seconds=1)
    results = delivery.drain(later)
    # Then it is parked, not tried again, and says why
    assert [(r.message_id, r.outcome) for r in results] == [(message_id, "parked")]
    assert sent == []
    message = stored(message_id)
    assert (message.status, message.queue, message.parked, message.attempts) == (
        "failed", None, "failed", max_attempts)
    assert (message.parked_at, message.last_error) == (stamp(later), ABANDONED)
    assert delivery.drain(later + timedelta(days=30)) == [] and sent == []
    # And the admins see it among the parked emails
    reply = api.get("/api/v1/billing/admin/notifications?status=failed", token=api.admin_token())
    assert [(i["id"], i["attempts"], i["last_error"]) for i in reply.body["items"]] == [
        (message_id, max_attempts, ABANDONED)]


def test_a_parked_abandoned_message_keeps_the_error_of_its_last_reported_failure(
        api: Api, paid_signup: PaidSignup, sent: list[str]) -> None:
    # Given a message that failed (reported) up to its last attempt, whose last sender then died
    message_id = only_message().message_id
    max_attempts = get_settings().mail_max_attempts
    start = now()
    message = stored(message_id)
    message.update(actions=[OutboxModel.attempts.set(max_attempts - 1),
                            OutboxModel.last_error.set("Throttling: Maximum sending rate exceeded.")])
    assert outbox.claim(stored(message_id), start) is not None
    # When a drain runs after its lease
    [result] = delivery.drain(start + outbox.LEASE + timedelta(seconds=1))
    # Then it is parked with the reported error, and nothing was sent
    assert (result.outcome, result.error) == ("parked", "Throttling: Maximum sending rate exceeded.")
    assert stored(message_id).last_error == "Throttling: Maximum sending rate exceeded."
    assert sent == []


# A claim taken over ----------------------------------------------------------------------------

def test_an_expired_claim_is_taken_over_and_the_old_senders_late_report_is_refused(
        api: Api, paid_signup: PaidSignup, sent: list[str]) -> None:
    # Given sender A claimed the message, then stalled past its lease
    message_id = only_message().message_id
    start = now()
    read_by_a = stored(message_id)
    token_a = outbox.claim(read_by_a, start)
    assert token_a is not None
    # When sender B finds it due after the lease and delivers it
    later = start + outbox.LEASE + timedelta(seconds=1)
    delivered = delivery.deliver(message_id, later)
    assert delivered.outcome == "sent" and sent == [paid_signup.email]
    after_b = stored(message_id)
    assert (after_b.status, after_b.attempts, after_b.queue) == ("sent", 2, None)
    assert after_b.claim != token_a and after_b.ses_message_id
    # Then A's late report, of a send or of a failure, is refused and changes nothing
    assert outbox.mark_sent(read_by_a, token_a, later, "ses-id-of-a") is False
    settings = get_settings()
    assert outbox.record_failure(read_by_a, token_a, later, "Timeout", settings.mail_max_attempts,
                                 settings.mail_retry_base_seconds) == "lost"
    assert stored(message_id).serialize() == after_b.serialize()
    # And no later drain sends it again
    assert delivery.drain(later + timedelta(days=1)) == []
    assert sent == [paid_signup.email]


def test_while_the_new_sender_holds_the_claim_the_old_one_can_report_nothing(
        api: Api, paid_signup: PaidSignup, sent: list[str]) -> None:
    # Given A's claim expired and B claimed the message (B is still sending)
    message_id = only_message().message_id
    start = now()
    read_by_a = stored(message_id)
    token_a = outbox.claim(read_by_a, start)
    later = start + outbox.LEASE + timedelta(seconds=1)
    token_b = outbox.claim(stored(message_id), later)
    assert token_a and token_b and token_a != token_b
    held_by_b = stored(message_id)
    # When A reports its send done, or failed
    settings = get_settings()
    marked = outbox.mark_sent(read_by_a, token_a, later, "ses-id-of-a")
    outcome = outbox.record_failure(read_by_a, token_a, later, "Timeout", settings.mail_max_attempts,
                                    settings.mail_retry_base_seconds)
    # Then both are refused: B's lease and claim stand, and B's report goes through
    assert (marked, outcome) == (False, "lost")
    assert stored(message_id).serialize() == held_by_b.serialize()
    assert outbox.mark_sent(held_by_b, token_b, later, "ses-id-of-b") is True
    assert (stored(message_id).status, stored(message_id).ses_message_id) == ("sent", "ses-id-of-b")


# DynamoDB failing while delivering ---------------------------------------------------------------

@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("operation", ["GetItem", "UpdateItem"])  # reading, claiming the message
def test_a_dynamodb_fault_before_the_send_leaves_the_message_deliverable(
        api: Api, paid_signup: PaidSignup, sent: list[str], inject: Any, operation: str,
        fault: str) -> None:
    # Given a queued email, and DynamoDB failing on reading or claiming it
    message_id = only_message().message_id
    before = stored(message_id).serialize()
    start = now()
    recover = inject(operation, FAULTS[fault])
    # When the worker drains
    results = delivery.drain(start)
    # Then the attempt is reported as an error, nothing is sent, the message is as it was
    assert [(r.message_id, r.outcome) for r in results] == [(message_id, "error")]
    assert results[0].error.startswith("Unavailable: ")
    assert sent == []
    assert only_message().serialize() == before  # (read with a scan: GetItem may be failing)
    assert outbox.due(start, 10) == [message_id]  # still due now: no lease, no backoff
    # And once DynamoDB is back, the next drain sends it once, and later ones nothing
    recover()
    assert [r.outcome for r in delivery.drain(start)] == ["sent"]
    assert delivery.drain(start + timedelta(days=1)) == []
    assert sent == [paid_signup.email]
    assert (stored(message_id).status, stored(message_id).attempts) == ("sent", 1)


def test_a_fault_on_one_message_does_not_hold_up_the_others(
        api: Api, paid_signup: PaidSignup, sent: list[str], inject: Any) -> None:
    # Given three queued emails (the signup's, then a confirmation's two), and DynamoDB failing
    # on the drain's second claim only
    assert api.confirm(paid_signup.token, paid_signup.invoice_id).status == 201
    start = now() + timedelta(seconds=1)
    due = outbox.due(start, 10)
    assert len(due) == 3
    inject("UpdateItem", throttled, when=lambda n: n == 3)  # claim 1, mark_sent 1, claim 2
    results = delivery.drain(start)
    # Then the first and third are sent, the second is reported and left due
    assert [(r.message_id, r.outcome) for r in results] == [
        (due[0], "sent"), (due[1], "error"), (due[2], "sent")]
    assert len(sent) == 2
    assert outbox.due(start, 10) == [due[1]]
    # And the next drain sends only the second, once
    assert [(r.message_id, r.outcome) for r in delivery.drain(start)] == [(due[1], "sent")]
    assert delivery.drain(start + timedelta(days=1)) == []
    assert len(sent) == 3 and {m.status for m in OutboxModel.scan()} == {"sent"}


def test_a_fault_on_recording_a_failed_send_retries_it_after_the_lease(
        api: Api, paid_signup: PaidSignup, sent: list[str], inject: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SES failing, and DynamoDB failing on recording that failure (the claim went through)
    message_id = only_message().message_id

    def ses_fails(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate"}},
                          "SendEmail")

    monkeypatch.setattr(delivery.ses_client(), "send_email", ses_fails)
    start = now()
    recover = inject("UpdateItem", throttled, when=lambda n: n > 1)
    # When the worker drains
    [result] = delivery.drain(start)
    # Then the attempt is an error, the message stays claimed for its lease and nothing is sent
    assert result.outcome == "error" and sent == []
    claimed = stored(message_id)
    assert (claimed.status, claimed.attempts, claimed.queue) == ("pending", 1, store.spread("pending", claimed.message_id))
    assert claimed.next_attempt_at == stamp(start + outbox.LEASE)
    # And once both are back, it is sent once after the lease
    recover()
    monkeypatch.undo()
    assert delivery.drain(start + timedelta(seconds=1)) == []
    assert [r.outcome for r in delivery.drain(start + outbox.LEASE + timedelta(seconds=1))] == ["sent"]
    assert delivery.drain(start + timedelta(days=1)) == []
    assert sent == [paid_signup.email]


def test_a_fault_on_the_due_query_fails_the_drain_and_sends_nothing(
        api: Api, paid_signup: PaidSignup, sent: list[str], inject: Any) -> None:
    message_id = only_message().message_id
    before = stored(message_id).serialize()
    recover = inject("Query", throttled)
    with pytest.raises(Unavailable):
        delivery.drain(now())
    assert sent == [] and stored(message_id).serialize() == before
    recover()
    assert [r.outcome for r in delivery.drain(now())] == ["sent"]
    assert sent == [paid_signup.email]
