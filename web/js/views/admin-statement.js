// One imported statement: its import report, its lines by status (with the invoice each matched or
// is suggested for and the evidence per criterion), apply or ignore a line, and apply all exact
// matches at once.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { count, date, dateTime, h, humanize, replace, toast } from "../dom.js";
import { busy, field, showErrors, values } from "../forms.js";
import { said } from "../amounts.js";
import { confirmDialog, STAY } from "../components/dialog.js";
import { TID } from "../components/reference.js";
import { accountLink } from "./admin-account.js";
import { importReport, statementMeta, statementPath } from "./admin-statements.js";
import { APPROVER, gate } from "../roles.js";

const STATUSES = ["matched", "suggested", "unmatched", "ignored", "applied"];
const LINE_TONES = {
  matched: ["info", "Matched"], suggested: ["warning", "Suggested"], unmatched: ["danger", "Unmatched"],
  ignored: ["neutral", "Ignored"], applied: ["success", "Applied"],
};
const EVIDENCE = [["payment_reference", "Payment reference"], ["amount", "Amount"], ["bank_reference", TID], ["payer", "Payer"]];
const EVIDENCE_TONES = { exact: "success", within_tolerance: "success", partial: "warning", over: "warning", none: "neutral" };
const PAGE = 50;
const REFERENCE = /^\s*P\s*R[\s-]*[0-9A-Z]{4}[\s-]*[0-9A-Z]{4}\s*$/i;

function lineBadge(status) {
  const [tone, label] = LINE_TONES[status] ?? ["neutral", humanize(status)];
  return h("span", { class: `badge badge-${tone}`, dataset: { lineStatus: status } }, label);
}

const isOut = (line) => String(line.amount).startsWith("-");
const unsigned = (amount) => String(amount).replace(/^-/, "");

/** The line's amount: money out in red with a minus and the words "Money out". */
function amountCell(line) {
  if (!isOut(line)) return h("span", { class: "amount-in", dataset: { amount: line.amount } }, said(line.amount, line.currency));
  return [h("span", { class: "amount-out", dataset: { amount: line.amount } },
    h("span", { "aria-hidden": "true" }, "−"), said(unsigned(line.amount), line.currency)),
  h("div", { class: "small amount-note" }, "Money out")];
}

/** "Payment reference: exact", "Amount: within tolerance", "Bank transaction ID / TID: none", "Payer: partial", and the typo. */
function evidenceCell(line) {
  const match = line.match;
  if (!match) return h("span", { class: "muted small" }, isOut(line) ? "Not matched: money out" : "No evidence");
  return h("div", { class: "evidence" },
    h("ul", { class: "evidence-list" }, EVIDENCE.map(([key, label]) => {
      const value = match.evidence?.[key] ?? "none";
      return h("li", {}, h("span", {
        class: `badge badge-${EVIDENCE_TONES[value] ?? "neutral"} badge-evidence`, dataset: { evidence: key, value },
      }, `${label}: ${humanize(value).toLowerCase()}`));
    })),
    match.typo ? h("p", { class: "typo small", dataset: { typo: match.typo } },
      h("span", { class: "mono" }, match.typo), " has a typo") : null);
}

function invoiceCell(line) {
  const match = line.match;
  if (!match?.invoice_id) return h("span", { class: "muted" }, "No invoice");
  const others = (match.candidates ?? []).filter((id) => id !== match.invoice_id);
  return h("div", { class: "line-invoice", dataset: { invoice: match.invoice_id } },
    h("strong", { class: "mono" }, match.invoice_number ?? match.invoice_id),
    h("div", {}, accountLink(match.account_id, match.account_name)),
    match.amount_due ? h("div", { class: "small muted" }, `${said(match.amount_due, match.invoice_currency)} due at import`) : null,
    match.payment_id ? h("div", { class: "small" }, h("a", { href: `/admin/payments/${encodeURIComponent(match.payment_id)}` },
      "Payer's confirmation")) : null,
    others.length ? h("div", { class: "small muted", dataset: { candidates: others.length + 1 } },
      `${others.length} other candidate${others.length === 1 ? "" : "s"}`) : null);
}

function statusCell(line) {
  return [lineBadge(line.status),
    line.status === "applied" && line.payment_id ? h("div", { class: "small" },
      h("a", { href: `/admin/payments/${encodeURIComponent(line.payment_id)}`, dataset: { linePayment: line.payment_id } }, "Payment")) : null,
    line.status !== "applied" && line.payment_id ? h("div", { class: "small", dataset: { awaitingSecond: line.payment_id } },
      h("a", { href: `/admin/payments/${encodeURIComponent(line.payment_id)}` }, "1 of 2 approvals: in the queue")) : null,
    line.decided_at ? h("div", { class: "small muted", title: line.decided_by ? `By ${line.decided_by}` : null },
      date(line.decided_at)) : null,
    line.status === "ignored" && line.ignore_reason ? h("div", { class: "small muted", dataset: { ignoreReason: "" } },
      `“${line.ignore_reason}”`) : null,
  ];
}

function lineRow(line, { onApply, onIgnore }) {
  const out = isOut(line);
  const describe = `the line of ${date(line.booked_at)}, ${out ? "−" : ""}${said(unsigned(line.amount), line.currency)}`;
  const actions = [];
  if (!out && line.status !== "applied") {
    actions.push(gate(h("button", { class: "btn btn-small", type: "button", onclick: () => onApply(line) },
      "Apply", h("span", { class: "visually-hidden" }, ` ${describe}`)), APPROVER));
  }
  if (["matched", "suggested", "unmatched"].includes(line.status)) {
    actions.push(gate(h("button", { class: "btn btn-secondary btn-small", type: "button", onclick: () => onIgnore(line) },
      "Ignore", h("span", { class: "visually-hidden" }, ` ${describe}`)), APPROVER));
  }
  // Each cell's content in one element: on a phone a cell is its label and that, side by side.
  const cell = (label, className, ...content) => h("td", { "data-label": label, class: className }, h("div", { class: "cell" }, content));
  return h("tr", { class: out ? "row-out" : null, dataset: { line: line.id, status: line.status, exact: line.exact ? "true" : "false" } },
    cell("Date", "line-date", date(line.booked_at)),
    cell("Amount", "num line-amount", amountCell(line)),
    cell("Description", "line-what",
      h("div", { class: "line-description" }, line.description || "—"),
      line.bank_reference ? h("div", { class: "small muted" }, `${TID} `, h("span", { class: "mono" }, line.bank_reference)) : null),
    cell("Counterparty", "line-payer", line.counterparty || h("span", { class: "muted" }, "—")),
    cell("Status", "line-status", statusCell(line)),
    cell("Invoice", "line-invoice-cell", invoiceCell(line)),
    cell("Evidence", "line-evidence", evidenceCell(line)),
    cell("Action", "line-actions", actions.length ? h("div", { class: "row-actions" }, actions) : h("span", { class: "muted" }, "—")));
}

/** How many matched lines "Apply all exact matches" takes (every page of the matched ones). */
async function exactCount(id) {
  let cursor = null;
  let total = 0;
  do {
    const page = await api.statementLines(id, { status: "matched", cursor, limit: 100 });
    total += page.items.filter((line) => line.exact).length;
    cursor = page.next_cursor;
  } while (cursor);
  return total;
}

/** The invoice the admin named: an invoice id as it is, a payment reference looked up. */
async function invoiceIdFrom(text) {
  if (!REFERENCE.test(text)) return text;
  const found = await api.invoiceByReference(text.trim());
  return found.invoice.id;
}

function applyDialog(line) {
  const keyFor = idempotencyKeys();
  const match = line.match;
  const certain = line.status === "matched" && match?.invoice_id;
  const others = (match?.candidates ?? []).filter((id) => id !== match?.invoice_id);
  const invoice = match?.invoice_id ? [h("strong", { class: "mono" }, match.invoice_number ?? match.invoice_id),
    ` of ${match.account_name ?? "the account"}`,
    match.amount_due ? ` (${said(match.amount_due, match.invoice_currency)} due at import)` : ""] : null;
  const what = h("p", {}, certain ? ["It pays invoice ", invoice, "."]
    : invoice ? [line.status === "suggested" ? "Suggested: invoice " : "Its match at import: invoice ", invoice,
      ". Check the evidence, and change the invoice if the money is for another."]
      : "Say which invoice the money is for.");
  const how = h("p", { class: "small muted" }, "It approves the invoice's pending confirmation, or records a payment from "
    + "the line and approves it: the bank's amount counts (within the method's tolerance it pays in full, less is a part "
    + "payment, more goes to the balance) and the account is activated as after an approval. A line pays once.");
  const invoiceField = certain ? null : field({
    label: "Invoice", name: "invoice_id", autocomplete: "off", value: match?.invoice_id ?? "",
    hint: others.length ? `The invoice's ID or payment reference. Other candidates: ${others.join(", ")}.`
      : "The invoice's ID (inv_…) or its payment reference (PR-XXXX-XXXX).",
  });
  return confirmDialog({
    title: "Apply this line?",
    subtitle: `${date(line.booked_at)} · ${said(line.amount, line.currency)}${line.counterparty ? ` · ${line.counterparty}` : ""}`,
    body: [what, invoiceField, how],
    confirmLabel: "Apply line", busyLabel: "Applying…", name: "apply-line", tone: "primary",
    onConfirm: async (form) => {
      let invoiceId = null;
      if (!certain) {
        const typed = values(form).invoice_id ?? "";
        if (!typed) {
          showErrors(form, { invoice_id: "Enter the invoice's ID or payment reference" });
          return STAY;
        }
        try {
          invoiceId = await invoiceIdFrom(typed);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, { invoice_id: error.message });
          return STAY;
        }
        if (invoiceId === match?.invoice_id) invoiceId = null; // its match: the API's default
      }
      try {
        return await api.applyStatementLine(line.id, invoiceId, keyFor({ line: line.id, invoiceId }));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error.fieldErrors, error.message);
        return STAY;
      }
    },
  });
}

function ignoreDialog(line) {
  const keyFor = idempotencyKeys();
  return confirmDialog({
    title: "Ignore this line?",
    subtitle: `${date(line.booked_at)} · ${said(unsigned(line.amount), line.currency)}${line.counterparty ? ` · ${line.counterparty}` : ""}`,
    body: [h("p", {}, "The line needs nothing: a refund, a transfer between your own accounts, a payment for something "
      + "else. It can still be applied later."),
    field({ label: "Reason", name: "reason", kind: "textarea", attrs: { maxlength: 500 },
      hint: "Required. Kept with the line, e.g. “Transfer from our savings account”." })],
    confirmLabel: "Ignore line", busyLabel: "Ignoring…", name: "ignore-line", tone: "primary",
    onConfirm: async (form) => {
      const { reason } = values(form);
      if (!reason) {
        showErrors(form, { reason: "Give the reason the line needs nothing" });
        return STAY;
      }
      try {
        return await api.ignoreStatementLine(line.id, reason, keyFor({ line: line.id, reason }));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showErrors(form, error.fieldErrors, error.message);
        return STAY;
      }
    },
  });
}

function appliedText(result) {
  if (result.approvals_required === 2 && result.payment?.status === "pending_approval") {
    return "First approval recorded: the payment waits in the approval queue for another admin, whose approval applies the line.";
  }
  const invoice = result.invoice;
  const account = result.account;
  if (invoice?.status === "partially_paid") {
    return `Applied as a part payment: ${said(invoice.amount_due, invoice.currency)} of ${invoice.invoice_number} is still due.`;
  }
  return `Applied: ${invoice?.invoice_number ?? "the invoice"} is paid${account ? ` and ${account.name} is ${humanize(account.status).toLowerCase()}` : ""}.`;
}

function importedBanner(statement) {
  const fresh = statement.new_lines;
  return h("section", { class: "banner banner-success", role: "status", dataset: { imported: statement.id } },
    h("h2", {}, `Imported ${statement.filename}`),
    h("p", {}, fresh
      ? `${count(statement.lines)} lines: ${count(fresh)} new, ${count(statement.duplicate_lines)} already imported. `
        + `Of the new: ${count(statement.matched)} matched, ${count(statement.suggested)} suggested, `
        + `${count(statement.unmatched)} unmatched, ${count(statement.ignored)} ignored.`
      : `All of its ${count(statement.lines)} lines were imported before: nothing new to match.`));
}

export async function adminStatementView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const id = ctx.params.id;
  const wanted = ctx.query.get("status");
  const status = STATUSES.includes(wanted) ? wanted : "";
  const [detail, first, exact] = await Promise.all([api.statement(id), api.statementLines(id, { status, limit: PAGE }),
    exactCount(id)]);

  const tabs = h("nav", { class: "tabs", "aria-label": "Lines by status" });
  const body = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { class: "responsive lines", "aria-labelledby": "lines-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Date"), h("th", { scope: "col", class: "num" }, "Amount"),
      h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Counterparty"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Invoice"), h("th", { scope: "col" }, "Evidence"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body));
  const empty = h("p", { class: "empty" });
  const more = h("button", { class: "btn btn-secondary", type: "button" }, "More lines");
  const applyAll = h("button", { class: "btn btn-success", type: "button", dataset: { applyAll: "" } });
  const result = h("div", { class: "apply-result", "aria-live": "polite", dataset: { applyResult: "" } });
  const heading = h("h2", { id: "lines-title", tabindex: "-1" }, "Lines");
  let cursor = null;
  let exactLines = exact;

  const handlers = {
    onApply: async (line) => {
      const applied = await applyDialog(line);
      if (!applied) return;
      toast(appliedText(applied));
      await reload();
    },
    onIgnore: async (line) => {
      const ignored = await ignoreDialog(line);
      if (!ignored) return;
      toast("Ignored the line.");
      await reload();
    },
  };

  function drawTabs(now) {
    const all = STATUSES.reduce((sum, key) => sum + (now[key] ?? 0), 0);
    const tab = (key, label, n) => h("a", {
      class: "tab", href: key ? `${statementPath(id)}?status=${key}` : statementPath(id),
      "aria-current": key === status ? "page" : null, dataset: { tab: key || "all" },
    }, label, " ", h("span", { class: "tab-count" }, count(n)));
    replace(tabs, tab("", "All", all), STATUSES.map((key) => tab(key, LINE_TONES[key][1], now[key] ?? 0)));
  }

  function drawApplyAll() {
    applyAll.textContent = `Apply all exact matches (${count(exactLines)})`;
    applyAll.disabled = exactLines === 0;
    applyAll.dataset.count = String(exactLines);
    gate(applyAll, APPROVER);
  }

  function drawLines(page, statement) {
    replace(body, page.items.map((line) => lineRow(line, handlers)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    table.hidden = !page.items.length;
    empty.hidden = Boolean(page.items.length);
    empty.textContent = status ? `No ${LINE_TONES[status][1].toLowerCase()} lines.`
      : statement.new_lines ? "No lines." : `This file brought no new lines: all of its ${count(statement.lines)} lines were imported before.`;
  }

  async function reload() {
    const [fresh, page, n] = await Promise.all([api.statement(id), api.statementLines(id, { status, limit: PAGE }), exactCount(id)]);
    exactLines = n;
    drawTabs(fresh.now);
    drawApplyAll();
    drawLines(page, fresh);
    heading.focus({ preventScroll: true });
  }

  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.statementLines(id, { status, cursor, limit: PAGE }));
    body.append(...page.items.map((line) => lineRow(line, handlers)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });

  applyAll.addEventListener("click", async () => {
    const keyFor = idempotencyKeys();
    const n = exactLines;
    const done = await confirmDialog({
      title: "Apply all exact matches?",
      subtitle: `${count(n)} line${n === 1 ? "" : "s"} of ${detail.filename}`,
      body: h("p", {}, "Each matched line whose payment reference is exact, whose amount is within the tolerance and that "
        + "has one candidate invoice is applied: its invoice's payment is approved (or recorded from the line and "
        + "approved), as if you approved each one. Suggested and unmatched lines are left for you."),
      confirmLabel: `Apply ${count(n)} line${n === 1 ? "" : "s"}`, busyLabel: "Applying…", name: "apply-exact",
      tone: "primary",
      onConfirm: () => api.applyExactMatches(id, keyFor({ id, n })),
    });
    if (!done) return;
    replace(result, h("div", { class: `alert ${done.failed.length ? "alert-danger" : "alert-success"}`, role: "status", dataset: {
      applied: done.applied, skipped: done.skipped,
    } },
    h("p", { class: "apply-summary" }, `Applied ${count(done.applied)}, skipped ${count(done.skipped)}`
      + (done.failed.length ? `, ${count(done.failed.length)} failed.` : ".")),
    done.awaiting_second_approval?.length ? h("p", { dataset: { awaitingSecondApproval: done.awaiting_second_approval.length } },
      `${count(done.awaiting_second_approval.length)} line${done.awaiting_second_approval.length === 1 ? "" : "s"} over the `
      + "single-approval limit got your first approval: another admin approves them in the approval queue.") : null,
    done.failed.length ? h("ul", { class: "failures" }, done.failed.map((failure) => h("li", { dataset: { failedLine: failure.line_id } },
      h("span", { class: "mono" }, failure.line_id), `: ${failure.message} (${failure.code})`))) : null));
    await reload();
  });

  drawTabs(detail.now);
  drawApplyAll();
  drawLines(first, detail);
  const imported = ctx.query.get("imported") ? importedBanner(detail) : null;
  ctx.show(`Statement ${detail.filename}`,
    h("p", { class: "small" }, h("a", { href: "/admin/statements" }, "← Bank statements")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Statement ${detail.filename}`),
        h("p", {}, `${statementMeta(detail)} · imported ${dateTime(detail.imported_at)} by ${detail.imported_by}`))),
    imported,
    h("section", { class: "card", "aria-labelledby": "report-title" },
      h("h2", { id: "report-title" }, "Import report"),
      importReport(detail)),
    h("section", { class: "card section-gap", "aria-labelledby": "lines-title" },
      h("div", { class: "card-head" }, heading, applyAll),
      result,
      tabs,
      table,
      empty,
      h("div", { class: "actions" }, more)));
}
