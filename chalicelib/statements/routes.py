"""Routes of bank statements (admins): import, lines, apply, ignore, unmatched confirmations."""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import APPROVER, BY_CALLER, VIEWER, Body, Routes, query
from chalicelib.core.validation import query_limit
from chalicelib.statements import fields

routes = Routes(__name__, "Statements", "Bank statements: import, match, apply (admins).")
STATEMENTS = "/api/v1/billing/admin/statements"
LINES = "/api/v1/billing/admin/statement-lines"


@routes.post(STATEMENTS, auth=APPROVER, status=201, idempotent=BY_CALLER,
             body=Body("StatementImportRequest", fields.IMPORT, "The statement file.",
                       max_bytes=fields.MAX_BODY),
             response=("Statement", "Imported: the report."),
             errors={413: "`statement_too_large`: over 4 MB decoded; `payload_too_large`: the "
                          "request itself is larger than that allows.",
                     422: "`statement_format_unknown` (empty, binary, or no known format; "
                          "`details.formats`), `statement_invalid` (a known format with something "
                          "wrong: `details.line` or `details.element` says where), "
                          "`validation_failed` (a field). Nothing is stored."})
def import_statement(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Import a bank statement

    CSV, MT940 or camt.053 (detected when `format` is absent). Each line is stored once, ever: a
    line already imported from this or another file counts in `duplicate_lines` and is not
    matched again. New lines are matched to invoices: by payment reference (`matched`), a
    pending confirmation's bank reference (`matched`), a mistyped reference or an amount
    (`suggested`); money out is `ignored`.
    """
    from chalicelib.statements import imports

    return imports.import_statement(caller, body)


@routes.get(STATEMENTS, auth=VIEWER, query=("Limit", "Cursor"),
            response=("StatementPage", "Statements, newest first."),
            errors={400: "`invalid_query` (limit) or `invalid_cursor`."})
def list_statements(caller: Principal) -> dict[str, Any]:
    """Imported statements, newest first

    Each with its import report.
    """
    from chalicelib.statements import views

    return views.list_statements(query_limit(query("limit")), query("cursor"))


@routes.get(STATEMENTS + "/{statement_id}", auth=VIEWER,
            response=("StatementDetail", "The statement."),
            errors={404: "`statement_not_found`."})
def get_statement(caller: Principal, statement_id: str) -> dict[str, Any]:
    """A statement

    Its import report, and `now`: how many of its lines are in each status now.
    """
    from chalicelib.statements import views

    return views.statement_detail(statement_id)


@routes.get(STATEMENTS + "/{statement_id}/lines", auth=VIEWER,
            query=("LineStatus", "Limit", "Cursor"),
            response=("StatementLinePage", "A page of its lines, in the file's order."),
            errors={400: "`invalid_query` (status or limit) or `invalid_cursor`.",
                    404: "`statement_not_found`."})
def list_statement_lines(caller: Principal, statement_id: str) -> dict[str, Any]:
    """A statement's lines

    The lines this statement brought (not those it shared with an earlier file), each with its
    status, the invoice it matched or is suggested for, and the evidence per criterion.
    """
    from chalicelib.statements import views

    return views.list_lines(statement_id, query("status"), query("limit"), query("cursor"))


@routes.post(STATEMENTS + "/{statement_id}/apply-exact", auth=APPROVER, idempotent=BY_CALLER,
             response=("ExactMatchesApplied", "What was applied."),
             errors={404: "`statement_not_found`."})
def apply_exact_matches(caller: Principal, statement_id: str) -> dict[str, Any]:
    """Apply all exact matches

    Every `matched` line of the statement whose payment reference is exact, whose amount is
    within tolerance and that has one candidate is applied, each in its own transaction (as
    `POST /statement-lines/{line_id}/apply`). Lines applied meanwhile are skipped; a line that
    cannot be applied (its invoice changed) is listed in `failed` and left as it is.
    """
    from chalicelib.statements import decisions

    return decisions.apply_exact(caller, statement_id)


@routes.post(LINES + "/{line_id}/apply", auth=APPROVER, idempotent=BY_CALLER,
             body=Body("StatementLineApplyRequest", fields.APPLY,
                       "Optional; an empty body applies the line to its match.", required=False,
                       empty_ok=True),
             response=("StatementLineApplied", "Applied: the payment approved."),
             also={202: ("StatementLineFirstApproval", "The first of two approvals (worth more "
                         "than SECOND_APPROVAL_ABOVE): the payment waits in the approval queue "
                         "for another admin, whose approval applies the line.")},
             errors={403: "`own_account`: the line's invoice is of the admin's own account.",
                     404: "`statement_line_not_found`, `invoice_not_found`.",
                     409: "`line_already_applied` (a line pays once), `line_not_a_credit`, "
                          "`invoice_not_pending`, `payment_not_pending`, "
                          "`second_approver_required`, `state_conflict`, "
                          "`transaction_conflict` (retry). Nothing changes",
                     422: "`validation_failed` (no invoice for a line without a match), "
                          "`currency_not_accepted` (the line's currency cannot pay the invoice)."})
def apply_statement_line(caller: Principal, line_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a statement line

    Approves the invoice's pending confirmation through the approval's own transaction (the
    approval's notes name the line), or, when the payer never confirmed, records a payment from
    the line (`source: "statement"`) and approves it. The bank's amount counts: within the
    method's tolerance it pays in full, less is a partial payment, more goes to the balance.
    """
    from chalicelib.statements import decisions

    return decisions.apply_line(caller, line_id, body)


@routes.post(LINES + "/{line_id}/ignore", auth=APPROVER, idempotent=BY_CALLER,
             body=Body("StatementLineIgnoreRequest", fields.IGNORE, "Why."),
             response=("StatementLineIgnored", "Ignored."),
             errors={404: "`statement_line_not_found`.",
                     409: "`line_already_applied`, `line_already_ignored`.",
                     422: "`validation_failed`: reason missing or too long."})
def ignore_statement_line(caller: Principal, line_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ignore a statement line

    The line needs nothing (a refund, a transfer between own accounts); the reason is kept. An
    ignored line can still be applied later.
    """
    from chalicelib.statements import decisions

    return decisions.ignore_line(caller, line_id, body)


@routes.get("/api/v1/billing/admin/unmatched-confirmations", auth=VIEWER, query=("Limit", "Cursor"),
            response=("UnmatchedConfirmationPage", "Oldest first."),
            errors={400: "`invalid_query` (limit) or `invalid_cursor`."})
def list_unmatched_confirmations(caller: Principal) -> dict[str, Any]:
    """Confirmations no statement line has matched

    Payments awaiting approval for 3 days or more that no imported statement line matched (by
    payment reference or bank reference): the payer may not have paid, or paid elsewhere.
    """
    from chalicelib.statements import views

    return views.unmatched_confirmations(query_limit(query("limit")), query("cursor"))
