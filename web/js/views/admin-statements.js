// The admin console's bank statements: import one (drop or pick a file), the statements imported
// (newest first) with their import reports, and the confirmations waiting over 3 days that no
// statement line matched.
import { ApiError, api } from "../api.js";
import { age, count, dateTime, h, humanize } from "../dom.js";
import { busy } from "../forms.js";
import { navigate } from "../router.js";
import { said } from "../amounts.js";
import { paymentMethodName } from "../components/methods.js";
import { statementUpload } from "../components/statement-upload.js";
import { TID } from "../components/reference.js";
import { accountLink } from "./admin-account.js";
import { APPROVER, can, roleNote } from "../roles.js";

export const FORMAT_NAMES = { csv: "CSV", mt940: "MT940", camt053: "camt.053" };
const REPORT = [
  ["lines", "Lines"], ["new_lines", "New"], ["duplicate_lines", "Duplicates"], ["matched", "Matched"],
  ["suggested", "Suggested"], ["unmatched", "Unmatched"], ["ignored", "Ignored"],
];

export const statementPath = (id) => `/admin/statements/${encodeURIComponent(id)}`;

/** The import report: the file's lines, how many were new or already imported, how the new matched. */
export function importReport(statement) {
  return h("ul", { class: "report", dataset: { report: statement.id } }, REPORT.map(([key, label]) => h("li", {
    class: `report-${key}`, dataset: { count: key },
  }, h("span", { class: "report-value" }, count(statement[key])), h("span", { class: "report-label" }, label))));
}

/** "CSV · PK36MEZN… · USD" */
export function statementMeta(statement) {
  return [FORMAT_NAMES[statement.format] ?? statement.format, statement.bank_account, statement.currency]
    .filter(Boolean).join(" · ");
}

function statementRows(items) {
  return items.map((statement) => h("tr", { dataset: { statement: statement.id } },
    h("td", { "data-label": "Imported" }, h("strong", {}, age(statement.imported_at)),
      h("div", { class: "small muted" }, `${dateTime(statement.imported_at)} by ${statement.imported_by}`)),
    h("td", { "data-label": "File" }, h("a", { href: statementPath(statement.id), class: "statement-file" }, statement.filename),
      h("div", { class: "small muted" }, statementMeta(statement))),
    h("td", { "data-label": "Lines", class: "num" }, count(statement.lines),
      h("div", { class: "small muted" }, `${count(statement.new_lines)} new · ${count(statement.duplicate_lines)} dup.`)),
    ...["matched", "suggested", "unmatched", "ignored"].map((key) => h("td", {
      "data-label": humanize(key), class: "num", dataset: { count: key },
    }, count(statement[key]))),
    h("td", { "data-label": "Action" }, h("a", {
      class: "btn btn-secondary btn-small", href: statementPath(statement.id),
      "aria-label": `Open the lines of ${statement.filename}`,
    }, "Open lines"))));
}

function statementsSection(first) {
  const body = h("tbody", {}, statementRows(first.items));
  let cursor = first.next_cursor;
  const more = h("button", { class: "btn btn-secondary", type: "button", hidden: !cursor }, "Load more");
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.statements(cursor));
    body.append(...statementRows(page.items));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  return h("section", { class: "card section-gap", "aria-labelledby": "statements-title" },
    h("div", { class: "card-head" }, h("h2", { id: "statements-title" }, "Imported statements"),
      h("span", { class: "muted small" }, "Newest first; counts as at the import")),
    first.items.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "responsive statements", "aria-labelledby": "statements-title" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Imported"), h("th", { scope: "col" }, "File"), h("th", { scope: "col", class: "num" }, "Lines"),
          h("th", { scope: "col", class: "num" }, "Matched"), h("th", { scope: "col", class: "num" }, "Suggested"),
          h("th", { scope: "col", class: "num" }, "Unmatched"), h("th", { scope: "col", class: "num" }, "Ignored"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
        body))
      : h("p", { class: "empty" }, "No statement imported yet."),
    h("div", { class: "actions" }, more));
}

function confirmationRows(items) {
  return items.map((payment) => h("tr", { dataset: { unmatchedPayment: payment.id } },
    h("td", { "data-label": "Waiting", class: "num" }, h("strong", { dataset: { daysWaiting: payment.days_waiting } },
      `${count(payment.days_waiting)} days`), h("div", { class: "small muted" }, dateTime(payment.created_at))),
    h("td", { "data-label": "Account" }, accountLink(payment.account?.id ?? payment.account_id, payment.account?.name)),
    h("td", { "data-label": "Amount", class: "num" }, said(payment.amount, payment.currency)),
    h("td", { "data-label": "Method" }, paymentMethodName(payment)),
    h("td", { "data-label": TID }, h("span", { class: "mono" }, payment.manual_reference),
      payment.payment_reference ? h("div", { class: "small muted" }, "Payment reference: ",
        h("span", { class: "mono" }, payment.payment_reference)) : null),
    h("td", { "data-label": "Action" }, h("a", {
      class: "btn btn-secondary btn-small", href: `/admin/payments/${encodeURIComponent(payment.id)}`,
      "aria-label": `Review payment ${payment.manual_reference}`,
    }, "Review"))));
}

/** "Confirmations waiting over 3 days with no statement line": ask the payer or the bank about them. */
export function unmatchedConfirmationsSection(first) {
  const titleId = "unmatched-title";
  const head = h("div", { class: "card-head" },
    h("h2", { id: titleId }, "Confirmations waiting over 3 days with no statement line"),
    h("span", { class: "muted small" }, "Oldest first"));
  if (first.error) {
    return h("section", { class: "card section-gap", "aria-labelledby": titleId, dataset: { unmatchedConfirmations: "" } }, head,
      h("p", { class: "alert alert-danger", role: "alert" }, `They could not be loaded: ${first.error.message}`));
  }
  const body = h("tbody", {}, confirmationRows(first.items));
  let cursor = first.next_cursor;
  const more = h("button", { class: "btn btn-secondary", type: "button", hidden: !cursor }, "Load more");
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.unmatchedConfirmations(cursor));
    body.append(...confirmationRows(page.items));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  const table = h("div", { class: "table-wrap" },
    h("table", { class: "responsive", "aria-labelledby": titleId },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", class: "num" }, "Waiting"), h("th", { scope: "col" }, "Account"),
        h("th", { scope: "col", class: "num" }, "Amount"), h("th", { scope: "col" }, "Method"),
        h("th", { scope: "col" }, TID), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
      body));
  return h("section", { class: "card section-gap", "aria-labelledby": titleId, dataset: { unmatchedConfirmations: "" } },
    head,
    h("p", { class: "muted small" }, "Payers confirmed these payments more than 3 days ago and no imported statement "
      + "line has their payment reference or bank transaction ID / TID: they may not have paid yet, or paid into another account."),
    first.items.length || cursor ? table : h("p", { class: "empty" }, "None: no confirmation has waited over 3 days without a statement line."),
    h("div", { class: "actions" }, more));
}

export async function adminStatementsView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const failed = (error) => {
    if (!(error instanceof ApiError)) throw error;
    return { error };
  };
  const [statements, waiting] = await Promise.all([api.statements(), api.unmatchedConfirmations().catch(failed)]);
  const upload = can(APPROVER) ? statementUpload({
    onImported: (statement) => navigate(`${statementPath(statement.id)}?imported=1`),
  }) : h("section", { class: "card" }, h("h2", {}, "Import a statement"),
    roleNote("Approvers and owners import statements and apply their lines.", APPROVER));
  ctx.show("Bank statements",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Bank statements"),
        h("p", {}, "Import the bank's statement: each line is matched to an invoice by its payment reference, a "
          + "confirmation's bank transaction ID / TID, a mistyped payment reference or its amount. Apply the matches to approve the "
          + "payments, or ignore the lines that need nothing."))),
    upload,
    statementsSection(statements),
    unmatchedConfirmationsSection(waiting));
}
