"""Statement imports and applications that race, made deterministic in-process: a request reads, a
competing one commits (`competing_commit`), then the first commits, and the conditions decide:
each line is stored once and applied once, each payment approved once, credits granted once.

tests/stack/test_live_statement_races.py shows the same over real HTTP, many requests at once."""
from __future__ import annotations

from typing import Any

from chalicelib.storage.models.statements import StatementLineModel
from ops import integrity
from tests.conftest import Api
from tests.helpers import account, competing_commit, invoice, labels, ledger_of, payments_of
from tests.statements.statement_files import STATEMENTS, csv_statement, upload


def _signups(api: Api, count: int) -> list[dict[str, Any]]:
    bodies = []
    for n in range(count):
        reply = api.register(f"race{n}@khan.pk", plan="starter", payment_method="bank_transfer")
        assert reply.status == 201, reply.body
        bodies.append(reply.body)
    return bodies


def _statement(signups: list[dict[str, Any]]) -> bytes:
    return csv_statement(*[("2026-12-01", "89.00", f"Invoice {s['invoice']['payment_reference']}",
                            "Payer", f"FT{n}") for n, s in enumerate(signups)])


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def test_an_import_losing_to_one_of_the_same_file_counts_its_lines_as_duplicates(api: Api) -> None:
    admin = api.admin_token()
    data = _statement(_signups(api, 3))
    with competing_commit(lambda: upload(api, admin, data, "b.csv"),
                          when=lambda tx: any(label.startswith("line#") for label in labels(tx))
                          ) as race:
        loser = upload(api, admin, data, "a.csv")
    winner = race.result
    assert (winner.status, winner.body["new_lines"], winner.body["matched"]) == (201, 3, 3)
    assert (loser.status, loser.body["new_lines"], loser.body["duplicate_lines"]) == (201, 0, 3)
    lines = [line for line in StatementLineModel.scan() if line.statement_id]
    assert len(lines) == 3 and {line.statement_id for line in lines} == {winner.body["id"]}


def test_apply_all_losing_to_another_click_applies_nothing_twice(api: Api) -> None:
    admin = api.admin_token()
    signups = _signups(api, 3)
    report = upload(api, admin, _statement(signups)).body
    apply_all = f"{STATEMENTS}/{report['id']}/apply-exact"
    with competing_commit(lambda: api.post(apply_all, token=admin),
                          when=lambda tx: "line" in labels(tx)) as race:
        second = api.post(apply_all, token=admin)
    first = race.result
    assert (first.status, first.body["applied"]) == (200, 3)
    assert (second.status, second.body["applied"], second.body["skipped"], second.body["failed"]) == (
        200, 0, 3, [])
    for signup in signups:
        [payment] = payments_of(signup["invoice"]["id"])
        assert payment.status == "succeeded"
        assert invoice(signup["invoice"]["id"]).status == "paid"
        account_id = signup["account"]["id"]
        assert account(account_id).credits == 1000 == sum(e.amount for e in ledger_of(account_id))
    _consistent()


def test_a_line_applied_while_its_confirmation_is_approved_by_hand_approves_once(api: Api) -> None:
    admin = api.admin_token()
    [signup] = _signups(api, 1)
    confirmed = api.confirm(signup["access_token"], signup["invoice"]["id"], reference="FT-77-XYZ")
    assert confirmed.status == 201, confirmed.body
    report = upload(api, admin, _statement([signup])).body
    [line] = [line for line in StatementLineModel.scan() if line.statement_id == report["id"]]
    with competing_commit(lambda: api.approve(admin, confirmed.body["id"]),
                          when=lambda tx: "line" in labels(tx)) as race:
        applied = api.post(f"/api/v1/billing/admin/statement-lines/{line.line_id}/apply", token=admin)
    assert race.result.status == 200
    assert applied.status == 409 and applied.body["error"]["code"] == "payment_not_pending"
    assert StatementLineModel.get(line.line_id).status == "matched"  # nothing changed
    [payment] = payments_of(signup["invoice"]["id"])
    assert payment.status == "succeeded" and payment.statement_line_id is None
    assert account(signup["account"]["id"]).credits == 1000
    _consistent()
