"""The billing clock with a frozen time: reminders once, voids once, overdue alerts once; a job
racing a request or another run of itself (made deterministic with `competing_commit`); a job
skipping what it cannot change; `manage.py run-jobs`."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

import pytest

import manage
from chalicelib.billing import jobs
from chalicelib.core.clock import stamp
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from chalicelib.storage.models.platform import OutboxModel
from ops import integrity
from tests.conftest import Api, PaidSignup
from tests.helpers import (
    account,
    assert_error,
    audit_of,
    competing_commit,
    invoice,
    ledger_of,
    payments_of,
    store_unchanged,
)


def _day(invoice_id: str, offset_days: int, hour: int = 9) -> datetime:
    """A moment `offset_days` after the invoice's due date."""
    due = date.fromisoformat(invoice(invoice_id).due_date)
    return datetime.combine(due + timedelta(days=offset_days), time(hour), tzinfo=timezone.utc)


def _mail(template: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.template == template]


def _submitted(payment_id: str) -> datetime:
    return datetime.strptime(PaymentModel.get(payment_id).created_at,
                             "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


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


def _reminder_due(api: Api, s: PaidSignup) -> tuple[datetime, str, str, str]:
    return _day(s.invoice_id, -2), "reminded", s.invoice_id, "invoice_reminder"


def _void_due(api: Api, s: PaidSignup) -> tuple[datetime, str, str, str]:
    return _day(s.invoice_id, 8), "voided", s.invoice_id, "invoice_voided"


def _alert_due(api: Api, s: PaidSignup) -> tuple[datetime, str, str, str]:
    payment = api.confirm(s.token, s.invoice_id).body["id"]
    return _submitted(payment) + timedelta(hours=25), "overdue_alerts", payment, "approval_overdue"


def _skipped(out: str) -> dict[str, set[str]]:
    """What the jobs logged as skipped because it changed meanwhile: id -> the failed items."""
    found = {}
    for line in out.splitlines():
        message = json.loads(line)["message"] if line.startswith("{") else ""
        if message.endswith("; skipped") and " changed meanwhile (" in message:
            entity, failed = message.removesuffix("); skipped").split(" changed meanwhile (")
            found[entity] = set(failed.split(", "))
    return found


@pytest.mark.parametrize("due, item", [(_reminder_due, "invoice"), (_void_due, "invoice"),
                                       (_alert_due, "payment")],
                         ids=["reminder", "void", "overdue_alert"])
def test_two_runs_racing_do_each_change_once(
        api: Api, paid_signup: PaidSignup, capsys: pytest.CaptureFixture[str],
        due: Callable[..., tuple[datetime, str, str, str]], item: str) -> None:
    moment, job, changed, template = due(api, paid_signup)
    # Given a run that read what is due, when another run commits the same change first
    capsys.readouterr()
    with competing_commit(lambda: jobs.run(moment)) as race:
        slower = jobs.run(moment)
    # Then the faster run did it, the slower one found the condition on the item it changes
    # failing (not only the email's, which is queued once anyway) and skipped it
    assert getattr(race.result, job) == [changed]
    assert getattr(slower, job) == []
    skipped = _skipped(capsys.readouterr().out)
    assert list(skipped) == [changed] and item in skipped[changed], skipped
    assert len(_mail(template)) == 1
    if job == "voided":
        assert len([e for e in audit_of(paid_signup.invoice_id) if e[0] == "voided_unpaid"]) == 1
    _consistent()


# A job racing a request -----------------------------------------------------------------------

def test_the_void_job_losing_to_a_confirmation_leaves_the_invoice_to_the_admins(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given the void job that read the unpaid invoice, when the user confirms a payment first
    confirm = lambda: api.confirm(paid_signup.token, paid_signup.invoice_id)  # noqa: E731
    with competing_commit(confirm) as race:
        report = jobs.run(_day(paid_signup.invoice_id, 8))
    # Then the job voids nothing: the invoice waits for the admins' decision
    assert race.result.status == 201, race.result.body
    assert report.voided == []
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.pending_payment_id) == ("pending", race.result.body["id"])
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "pending_payment"
    assert account(paid_signup.account_id).status == "pending_payment"
    assert _mail("invoice_voided") == []
    assert "voided_unpaid" not in [e[0] for e in audit_of(paid_signup.invoice_id)]
    _consistent()


def test_a_confirmation_losing_to_the_void_job_is_409_and_the_invoice_stays_void(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given a confirmation that read the invoice as pending, when the void job commits first
    moment = _day(paid_signup.invoice_id, 8)
    with competing_commit(lambda: jobs.run(moment)) as race:
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id)
    # Then 409 invoice_not_pending: no payment, the invoice void, the account suspended
    assert race.result.voided == [paid_signup.invoice_id]
    assert_error(reply, 409, "invoice_not_pending")
    assert payments_of(paid_signup.invoice_id) == []
    assert invoice(paid_signup.invoice_id).status == "void"
    assert account(paid_signup.account_id).status == "suspended"
    assert _mail("payment_submitted") == []
    _consistent()


def test_the_reminder_losing_to_an_approval_is_not_sent(api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    # Given the reminder job that read the open invoice, when an admin approves its payment first
    with competing_commit(lambda: api.approve(admin, payment)) as race:
        reminded = jobs.send_reminders(_day(paid_signup.invoice_id, -2))
    # Then no reminder of a paid invoice
    assert race.result.status == 200, race.result.body
    assert reminded == [] and _mail("invoice_reminder") == []
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.reminded_at) == ("paid", None)
    _consistent()


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_the_overdue_alert_losing_to_a_decision_is_not_sent(
        api: Api, paid_signup: PaidSignup, verb: str) -> None:
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    decide = api.approve if verb == "approve" else api.reject
    # Given the alert job that read the overdue payment, when an admin decides it first
    with competing_commit(lambda: decide(admin, payment)) as race:
        alerted = jobs.alert_overdue_reviews(_submitted(payment) + timedelta(hours=25))
    # Then no alert about a decided payment
    assert race.result.status == 200, race.result.body
    assert alerted == [] and _mail("approval_overdue") == []
    assert PaymentModel.get(payment).sla_alerted_at is None
    _consistent()


def test_an_approval_still_succeeds_when_the_jobs_remind_and_alert_meanwhile(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    moment = _day(paid_signup.invoice_id, -2)
    assert moment > _submitted(payment) + timedelta(hours=24)  # the payment is overdue then too
    # Given an approval that read the payment and its records, when the jobs remind the billing
    # contact and alert the admins first (neither changes what the approval's conditions hold)
    with competing_commit(lambda: jobs.run(moment)) as race:
        reply = api.approve(admin, payment)
    # Then the approval goes through, with the credits granted once
    assert (race.result.reminded, race.result.overdue_alerts) == ([paid_signup.invoice_id], [payment])
    assert reply.status == 200, reply.body
    assert (account(paid_signup.account_id).credits, len(ledger_of(paid_signup.account_id))) == (1000, 1)
    assert PaymentModel.get(payment).sla_alerted_at is not None
    assert invoice(paid_signup.invoice_id).reminded_at is not None
    _consistent()


# What a job cannot change -----------------------------------------------------------------------

def _warnings(out: str) -> list[str]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line["message"] for line in lines if line["level"] == "WARNING"]


@pytest.mark.parametrize("missing", ["subscription", "account"])
def test_the_void_job_skips_an_invoice_whose_subscription_or_account_is_missing(
        api: Api, paid_signup: PaidSignup, capsys: pytest.CaptureFixture[str], missing: str) -> None:
    # Given two unpaid invoices past their grace period, the first one's subscription or account gone
    other = api.register("bilal@khan.pk", plan="starter", payment_method="bank_transfer").body
    later = date.fromisoformat(invoice(paid_signup.invoice_id).due_date) + timedelta(days=1)
    InvoiceModel(other["invoice"]["id"]).update(actions=[InvoiceModel.due_date.set(later.isoformat())])
    if missing == "subscription":
        SubscriptionModel(paid_signup.subscription_id).delete()
    else:
        AccountModel(paid_signup.account_id).delete()
    capsys.readouterr()
    # When the void job runs
    report = jobs.run(_day(paid_signup.invoice_id, 9))
    # Then it leaves that invoice alone, says so, and goes on to void the other one
    assert report.voided == [other["invoice"]["id"]]
    stored = invoice(paid_signup.invoice_id)
    assert (stored.status, stored.open is not None) == ("pending", True)
    assert _warnings(capsys.readouterr().out) == [
        f"invoice {paid_signup.invoice_id}: subscription or account missing; not voided"]
    assert [m.entity_id for m in _mail("invoice_voided")] == [other["invoice"]["id"]]


# manage.py run-jobs -------------------------------------------------------------------------------

def _run_jobs(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """`manage.py run-jobs` in this process (against the test's moto): exit code and its report."""
    capsys.readouterr()
    code = manage.main(["run-jobs", *args])
    return code, [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]


def test_manage_run_jobs_as_of_a_time_prints_what_it_did(
        api: Api, paid_signup: PaidSignup, capsys: pytest.CaptureFixture[str]) -> None:
    at = _day(paid_signup.invoice_id, 8).strftime("%Y-%m-%dT%H:%M:%S")
    code, lines = _run_jobs(capsys, "--at", at)
    assert code == 0
    assert lines == ["reminded: 0", f"voided: 1 ({paid_signup.invoice_id})", "overdue alerts: 0"]
    assert invoice(paid_signup.invoice_id).status == "void"
    assert account(paid_signup.account_id).status == "suspended"
    assert len(_mail("invoice_voided")) == 1
    # Run again, it finds nothing to do
    assert _run_jobs(capsys, "--at", at) == (0, ["reminded: 0", "voided: 0", "overdue alerts: 0"])
    _consistent()


def test_manage_run_jobs_runs_as_of_now_by_default(
        api: Api, paid_signup: PaidSignup, capsys: pytest.CaptureFixture[str]) -> None:
    # A fresh invoice is due in a week: nothing to remind, void or alert about yet
    assert _run_jobs(capsys) == (0, ["reminded: 0", "voided: 0", "overdue alerts: 0"])
    assert invoice(paid_signup.invoice_id).reminded_at is None
    # Its reminder goes once it falls due within two days
    at = _day(paid_signup.invoice_id, -1).isoformat()  # with its +00:00 offset
    assert _run_jobs(capsys, "--at", at) == (
        0, ["reminded: 1 (" + paid_signup.invoice_id + ")", "voided: 0", "overdue alerts: 0"])


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
    # (within its first period: what happens after it is the renewal's story, test_lifecycle)
    assert jobs.run(_day(paid_signup.invoice_id, 14)).voided == []
    assert invoice(paid_signup.invoice_id).status == "paid"
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


def test_manage_run_jobs_reads_a_time_with_an_offset_as_that_moment(
        api: Api, paid_signup: PaidSignup, capsys: pytest.CaptureFixture[str]) -> None:
    # 03:00 at +05:00 on the first day past the grace period is 22:00 UTC of its last day
    first_day_past = _day(paid_signup.invoice_id, 8, hour=3)
    in_karachi = first_day_past.replace(tzinfo=timezone(timedelta(hours=5))).isoformat()
    assert _run_jobs(capsys, "--at", in_karachi) == (0, ["reminded: 0", "voided: 0", "overdue alerts: 0"])
    assert invoice(paid_signup.invoice_id).status == "pending"
    # Without an offset the time is UTC: 03:00 UTC of that day is past the grace period
    code, lines = _run_jobs(capsys, "--at", first_day_past.strftime("%Y-%m-%dT%H:%M"))
    assert (code, lines[1]) == (0, f"voided: 1 ({paid_signup.invoice_id})")


def test_an_overdue_alert_about_a_payment_whose_invoice_is_missing_still_goes_and_renders(
        api: Api, paid_signup: PaidSignup) -> None:
    """The job alerts about a payment whose invoice is gone (corrupt data, but the admins must
    hear of the payment); its email used to fail to render, so it never went."""
    from chalicelib.notifications import delivery

    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    InvoiceModel(paid_signup.invoice_id).delete()
    assert jobs.alert_overdue_reviews(_submitted(payment) + timedelta(hours=25)) == [payment]
    [alert] = _mail("approval_overdue")
    email = delivery.compose(alert)
    assert payment in email.text and "Invoice:    -" in email.text
    assert "{{" not in email.text and "{{" not in email.html


def test_manage_run_jobs_refuses_a_time_it_cannot_read_with_a_usage_error(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a store with a signup whose invoice is far past due
    assert api.register("late@khan.pk", plan="starter").status == 201
    with store_unchanged():
        # When the operator mistypes the time
        with pytest.raises(SystemExit) as exited:
            manage.main(["run-jobs", "--at", "next tuesday"])
    # Then it is argparse's usage error (exit 2) naming the option, and nothing ran
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "--at" in error and "'next tuesday' is not an ISO 8601 time" in error
