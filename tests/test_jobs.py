"""The billing clock with a frozen time: reminders once, voids once, overdue alerts once."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from chalicelib.billing import jobs
from chalicelib.core.clock import stamp
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.platform import OutboxModel
from ops import integrity
from tests.conftest import Api, PaidSignup
from tests.helpers import audit_of, invoice


def _day(invoice_id: str, offset_days: int, hour: int = 9) -> datetime:
    """A moment `offset_days` after the invoice's due date."""
    due = date.fromisoformat(invoice(invoice_id).due_date)
    return datetime.combine(due + timedelta(days=offset_days), time(hour), tzinfo=timezone.utc)


def _mail(template: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.template == template]


def test_the_reminder_goes_once_to_the_billing_contact_two_days_before(
        api: Api, paid_signup: PaidSignup) -> None:
    assert jobs.run(_day(paid_signup.invoice_id, -3)).reminded == []
    assert jobs.run(_day(paid_signup.invoice_id, -2)).reminded == [paid_signup.invoice_id]
    # Running again, the same day or the next, sends nothing more
    assert jobs.run(_day(paid_signup.invoice_id, -2, hour=10)).reminded == []
    assert jobs.run(_day(paid_signup.invoice_id, -1)).reminded == []
    [reminder] = _mail("invoice_reminder")
    assert reminder.recipient == "billing@khan.pk"
    assert reminder.context["payment_reference"] == invoice(paid_signup.invoice_id).payment_reference
    assert invoice(paid_signup.invoice_id).reminded_at is not None
    # Run as of a later time (`make jobs AT=...`), the email is still due now, not then
    assert reminder.next_attempt_at <= stamp(datetime.now(timezone.utc))


def test_an_invoice_unpaid_after_the_grace_period_is_voided_once(api: Api, paid_signup: PaidSignup) -> None:
    assert jobs.run(_day(paid_signup.invoice_id, 7)).voided == []  # the last day of grace
    report = jobs.run(_day(paid_signup.invoice_id, 8))
    assert report.voided == [paid_signup.invoice_id]
    voided = invoice(paid_signup.invoice_id)
    assert (voided.status, voided.open) == ("void", None)
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "cancelled"
    account = AccountModel.get(paid_signup.account_id)
    assert (account.status, account.pending_invoice_id, account.credits) == ("suspended", None, 0)
    assert ("voided_unpaid", "pending", "void", jobs.SYSTEM) in audit_of(paid_signup.invoice_id)
    assert ("suspended_unpaid", "pending_payment", "suspended", jobs.SYSTEM) in audit_of(paid_signup.account_id)
    [notice] = _mail("invoice_voided")
    assert notice.recipient == "billing@khan.pk"
    # The status summary counts the account as suspended, no longer pending
    status = api.get("/api/v1/billing/admin/status", token=api.admin_token()).body
    assert (status["accounts"]["pending_payment"], status["accounts"]["suspended"]) == (0, 1)
    # The store is consistent afterwards
    checked = integrity.verify()
    assert checked.ok, "\n".join(checked.lines())
    # And a second run, even much later, changes and sends nothing
    again = jobs.run(_day(paid_signup.invoice_id, 30))
    assert again.counts() == {"reminded": 0, "voided": 0, "overdue_alerts": 0}
    assert len(_mail("invoice_voided")) == 1


def test_two_runs_racing_on_one_invoice_void_it_once(api: Api, paid_signup: PaidSignup) -> None:
    stale = (invoice(paid_signup.invoice_id), SubscriptionModel.get(paid_signup.subscription_id),
             AccountModel.get(paid_signup.account_id))
    at = "2030-01-01T00:00:00.000000Z"
    assert jobs._void(*stale, at) is True
    assert jobs._void(*stale, at) is False  # what the slower of two runs finds
    assert len(_mail("invoice_voided")) == 1
    assert len([e for e in audit_of(paid_signup.invoice_id) if e[0] == "voided_unpaid"]) == 1


def test_a_payment_under_review_holds_the_invoice_open(api: Api, paid_signup: PaidSignup) -> None:
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    assert jobs.run(_day(paid_signup.invoice_id, 30)).voided == []
    assert invoice(paid_signup.invoice_id).status == "pending"


def test_after_a_rejection_the_unpaid_invoice_can_be_voided(api: Api, paid_signup: PaidSignup) -> None:
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    api.reject(api.admin_token(), payment["id"], "Not received")
    assert jobs.run(_day(paid_signup.invoice_id, 8)).voided == [paid_signup.invoice_id]


def test_a_paid_invoice_is_never_reminded_nor_voided(api: Api, paid_signup: PaidSignup) -> None:
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    api.approve(api.admin_token(), payment["id"])
    assert invoice(paid_signup.invoice_id).open is None
    assert jobs.run(_day(paid_signup.invoice_id, -1)).reminded == []
    assert jobs.run(_day(paid_signup.invoice_id, 60)).voided == []
    assert AccountModel.get(paid_signup.account_id).status == "active"


def test_a_payment_awaiting_approval_past_the_target_alerts_the_admins_once(
        api: Api, paid_signup: PaidSignup) -> None:
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    submitted = datetime.strptime(PaymentModel.get(payment["id"]).created_at,
                                  "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert jobs.run(submitted + timedelta(hours=23)).overdue_alerts == []
    assert jobs.run(submitted + timedelta(hours=25)).overdue_alerts == [payment["id"]]
    assert jobs.run(submitted + timedelta(hours=26)).overdue_alerts == []
    [alert] = _mail("approval_overdue")
    assert alert.recipient == "admins@example.com" and alert.context["sla_hours"] == "24"


def test_the_job_emails_render(api: Api, paid_signup: PaidSignup) -> None:
    from chalicelib.notifications import delivery

    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body
    jobs.run(_day(paid_signup.invoice_id, -2) + timedelta(days=30))  # alert the admins
    api.reject(api.admin_token(), payment["id"], "Not received")
    jobs.run(_day(paid_signup.invoice_id, 8) + timedelta(days=30))  # void
    for template in ("approval_overdue", "invoice_voided"):
        [message] = _mail(template)
        email = delivery.compose(message)
        assert invoice(paid_signup.invoice_id).invoice_number in email.subject + email.text
        assert "{{" not in email.text and "{{" not in email.html
