"""The consume and release transactions are written in DynamoDB's JSON (chalicelib.credits.wire):
each item must be the one the model would write, and each condition must decide as the models'
condition would, on every shape an account can have (extra missing or 0, no allowance_since)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.credits import wire
from chalicelib.storage import raw, store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.platform import IdempotencyModel
from chalicelib.storage.models.records import CreditLedgerModel
from chalicelib.storage.store import TransactionCancelled, Tx

LEDGER = dict(account_id="acc_1", entry_id="consume#acc_1#k#1", amount=-10, bucket="both",
              reason="consumed", reference="render", actor="service_key:api", created_at="2026-12-02T00:00:00.000000Z",
              balance_after=90, ordered_at="2026-12-02T00:00:00.000000Z#00", taken_allowance=0,
              taken_extra=10, allowance_since=None, fingerprint="f" * 64, response='{"a": 1}',
              created_month="2026-12#1")


def test_a_ledger_entry_is_the_models_own_item() -> None:
    assert wire.item(**LEDGER) == CreditLedgerModel(**LEDGER).serialize()
    since = {**LEDGER, "allowance_since": "2026-11-01T00:00:00.000000Z", "reference": None}
    assert wire.item(**since) == CreditLedgerModel(**since).serialize()


def test_a_key_marker_is_the_models_own_item() -> None:
    put = wire.key_marker_put("service:k#1", fingerprint="f", claim_id="consume#a#k#1",
                              keep_seconds=3600)["Put"]
    model = IdempotencyModel("service:k#1", fingerprint="f", status="completed",
                             claim_id="consume#a#k#1", locked_until=0,
                             expires_at=timedelta(seconds=3600)).serialize()
    assert abs(int(put["Item"].pop("expires_at")["N"]) - int(model.pop("expires_at")["N"])) <= 1
    assert put["Item"] == model and put["TableName"] == IdempotencyModel.Meta.table_name


def _account(account_id: str, **fields: Any) -> None:
    now = "2026-12-02T00:00:00.000000Z"
    AccountModel(account_id, name="A", status=fields.pop("status", "active"), plan="starter",
                 owner_user_id="u", created_at=now, updated_at=now, **fields).save()


def _models_condition(status: str, credits: int, extra: int, since: str | None) -> Any:
    """The same condition in PynamoDB's expressions, as the models would say it."""
    extra_is = (AccountModel.extra == extra) if extra else (
        (AccountModel.extra == 0) | AccountModel.extra.does_not_exist())
    since_is = (AccountModel.allowance_since == since) if since else (
        AccountModel.allowance_since.does_not_exist())
    return (AccountModel.status == status) & (AccountModel.credits == credits) & extra_is & since_is


SHAPES = {  # what the account is: its fields
    "extra missing": dict(credits=100),
    "extra 0": dict(credits=100, allowance=100, extra=0),
    "extra 40": dict(credits=100, allowance=60, extra=40, allowance_since="2026-11-01T00:00:00.000000Z"),
    "past due": dict(status="past_due", credits=100, allowance=100, extra=0),
}
VIEWS = {  # what the container believes: (status, credits, extra, since)
    "100, no extra": ("active", 100, 0, None),
    "100, 40 extra": ("active", 100, 40, "2026-11-01T00:00:00.000000Z"),
    "100, 40 extra, another allowance": ("active", 100, 40, "2026-10-01T00:00:00.000000Z"),
    "99": ("active", 99, 0, None),
    "past due": ("past_due", 100, 0, None),
}


def _accepts_wire(account_id: str, view: tuple[str, int, int, str | None]) -> bool:
    status, credits, extra, since = view
    try:
        raw.commit_items([("account", wire.account_update(
            account_id, status=status, credits=credits, extra=extra, since=since,
            allowance_to=1, extra_to=2))])
    except TransactionCancelled as exc:
        assert exc.failed == ["account"] and exc.items["account"]["account_id"] == {"S": account_id}
        return False
    return True


def _accepts_models(account_id: str, view: tuple[str, int, int, str | None]) -> bool:
    tx = Tx()
    tx.update("account", AccountModel(account_id), [AccountModel.allowance.set(1),
              AccountModel.extra.set(2), AccountModel.credits.set(3)], condition=_models_condition(*view))
    try:
        tx.commit()
    except TransactionCancelled:
        return False
    return True


@pytest.mark.parametrize("shape", SHAPES)
def test_the_account_condition_decides_as_the_models_would(aws: None, shape: str) -> None:
    store.init()
    decisions = []
    for n, (name, view) in enumerate(VIEWS.items()):
        _account(f"w{n}", **SHAPES[shape])
        _account(f"m{n}", **SHAPES[shape])
        by_wire, by_models = _accepts_wire(f"w{n}", view), _accepts_models(f"m{n}", view)
        assert by_wire == by_models, (shape, name)
        after = AccountModel.get(f"w{n}", consistent_read=True)
        assert (after.allowance, after.extra, after.credits) == (
            (1, 2, 3) if by_wire else (SHAPES[shape].get("allowance"), SHAPES[shape].get("extra"),
                                       SHAPES[shape]["credits"]))
        decisions.append(by_wire)
    assert any(decisions) and not all(decisions), "the cases must include both answers"


def test_a_key_use_is_not_written_on_a_revoked_key(aws: None) -> None:
    from chalicelib.storage.models.platform import ServiceKeyModel

    store.init()
    at = "2026-12-02T00:00:00.000000Z"
    ServiceKeyModel("live", name="a", secret_hash="h", created_at=at, created_by="x").save()
    ServiceKeyModel("gone", name="b", secret_hash="h", created_at=at, created_by="x",
                    revoked_at=at).save()
    raw.commit_items([("key", wire.key_used("live", "2026-12-02T01:00:00.000000Z"))])
    with pytest.raises(TransactionCancelled):
        raw.commit_items([("key", wire.key_used("gone", "2026-12-02T01:00:00.000000Z"))])
    assert ServiceKeyModel.get("live").last_used_at == "2026-12-02T01:00:00.000000Z"
    assert ServiceKeyModel.get("gone").last_used_at is None
