// The admin console: the system status, the approval queue, the unpaid renewals, and a payment to
// approve or reject.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { age, badge, count, countryName, dateTime, h, humanize, money, toast } from "../dom.js";
import { methodName } from "../components/methods.js";
import { proofSummary } from "../components/proof.js";
import { paymentReference } from "../components/reference.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { accountStates, renewalsSection } from "./admin-renewals.js";
import { accountLink } from "./admin-account.js";
import { serviceKeysSection } from "./admin-keys.js";
import { invoiceLabel } from "../components/pending-banner.js";
import { pdfButton } from "../components/invoice-pdf.js";
import { approveText, invoiceMoneyRows, settlementNote, settlementRows } from "./admin-settlement.js";
import { said } from "../amounts.js";

function statusCards(status) {
  const accounts = status.accounts;
  const attention = (accounts.past_due ?? 0) + (accounts.suspended ?? 0);
  const metric = (key, label, value, sub) => h("section", { class: "card metric", "data-metric": key },
    h("h2", { class: "label" }, label), h("div", { class: "value" }, value), h("p", { class: "sub" }, sub));
  return h("div", { class: "grid grid-4", "aria-label": "System status", role: "region" },
    metric("plans", "Plans", count(status.plans_configured), "configured"),
    metric("methods", "Payment methods", count(status.payment_methods_enabled), "enabled (global + country)"),
    metric("accounts", "Accounts", count(accounts.total), !accounts.total ? "none yet"
      : attention ? `${count(attention)} past due or suspended` : `${count(accounts.active ?? 0)} active`),
    metric("pending", "Awaiting approval", count(status.payments_pending_approval),
      status.payments_pending_approval === 1 ? "payment to check" : "payments to check"));
}

/** A short form of a payment id for links: "pay_01HX…" -> its last 8 characters. */
const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id);

/**
 * The review hints of a payment: "Reference matches" when the payer's bank reference contains the
 * invoice's payment reference, and "Possible duplicate of …" linking the payments it may repeat.
 */
function reviewHints({ flags }, { detail = false } = {}) {
  if (!flags) return null;
  const duplicates = flags.near_duplicate_of ?? [];
  const hints = [];
  if (flags.reference_matches) {
    hints.push(h("span", { class: "badge badge-success", "data-hint": "reference-matches" }, "Reference matches"));
  } else if (detail) {
    hints.push(h("span", { class: "badge badge-neutral", "data-hint": "reference-missing" },
      "Payment reference not in the bank reference"));
  }
  if (duplicates.length) {
    hints.push(h("span", { class: "hint-duplicate", "data-hint": "near-duplicate" },
      h("span", { class: "badge badge-warning" }, "Possible duplicate"), " of ",
      duplicates.map((id, i) => [i ? ", " : null, h("a", {
        href: `/admin/payments/${encodeURIComponent(id)}`, class: "mono",
        "aria-label": `Possible duplicate of payment ${id}`,
      }, detail ? id : shortId(id))])));
  }
  return hints.length ? h("div", { class: "hints" }, hints) : null;
}

function queueRows(items) {
  return items.map((payment) => h("tr", {
    dataset: { payment: payment.id }, class: payment.flags?.reference_matches ? "row-match" : null,
  },
    h("td", { "data-label": "Submitted" }, h("strong", {}, age(payment.created_at)),
      h("div", { class: "small muted" }, dateTime(payment.created_at))),
    h("td", { "data-label": "Account" }, accountLink(payment.account_id, payment.account?.name)),
    h("td", { "data-label": "Amount", class: "num" }, said(payment.amount, payment.currency),
      settlementNote(payment)),
    h("td", { "data-label": "Method" }, humanize(payment.payment_method)),
    h("td", { "data-label": "Reference" }, h("span", { class: "mono" }, payment.manual_reference),
      payment.payment_reference ? h("div", { class: "small muted" }, "Invoice's: ", h("span", { class: "mono" }, payment.payment_reference)) : null,
      reviewHints(payment),
      payment.proof ? h("div", { class: "small", "data-proof": "attached" }, "Receipt attached") : null),
    h("td", { "data-label": "Action" }, h("a", {
      class: "btn btn-secondary", href: `/admin/payments/${encodeURIComponent(payment.id)}`,
      "aria-label": `Review payment ${payment.manual_reference} from ${payment.account?.name ?? "account"}`,
    }, "Review"))));
}

/** "Find an invoice by payment reference": for a statement line whose payment nobody confirmed. */
function referenceSearch() {
  const result = h("div", { "aria-live": "polite", style: "margin-top:1rem", dataset: { lookup: "" } });
  const button = h("button", { class: "btn btn-secondary", type: "submit" }, "Find invoice");
  const form = h("form", { novalidate: true, class: "inline-form" },
    formAlert(),
    field({ label: "Payment reference", name: "reference", autocomplete: "off",
      hint: "As written in the transfer's description, e.g. PR-7K4Q-X9MP. A typo is caught." }),
    button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const reference = (values(form).reference ?? "").trim();
    if (!reference) return showErrors(form, { reference: "Enter a payment reference" });
    try {
      const found = await busy(button, "Finding…", () => api.invoiceByReference(reference));
      const { invoice, account, payments } = found;
      result.replaceChildren(h("dl", { class: "kv" },
        h("dt", {}, "Invoice"), h("dd", {}, `${invoice.invoice_number} · `,
          `${money(invoice.amount, invoice.currency)} ${invoice.currency} · `, badge(invoice.status)),
        h("dt", {}, "Account"), h("dd", {}, account ? [accountLink(account.id, account.name), " · ", badge(account.status)] : "—"),
        h("dt", {}, "Payments"), h("dd", {}, payments.length
          ? h("ul", { class: "plain" }, payments.map((payment) => h("li", {},
            h("a", { href: `/admin/payments/${encodeURIComponent(payment.id)}` }, payment.manual_reference),
            " · ", badge(payment.status))))
          : "None confirmed yet")));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, { reference: error.message });
    }
    return undefined;
  });
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "lookup-title" },
    h("h2", { id: "lookup-title" }, "Find an invoice by payment reference"), form, result);
}

export async function adminConsoleView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const failed = (error) => {
    if (!(error instanceof ApiError)) throw error;
    return { error };
  };
  const [status, queue, renewals, keys] = await Promise.all([api.status(), api.approvalQueue(),
    api.renewals().catch(failed), api.serviceKeys().catch(failed)]);
  const body = h("tbody", {}, queueRows(queue.items));
  let cursor = queue.next_cursor;
  const more = h("button", { class: "btn btn-secondary", type: "button", hidden: !cursor }, "Load more");
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.approvalQueue(cursor));
    body.append(...queueRows(page.items));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  ctx.show("Admin console",
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Admin console"), h("p", {}, "Check each payment against the bank or wallet statement, then approve or reject it."))),
    h("h2", { class: "visually-hidden" }, "System status"),
    statusCards(status),
    h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "queue-title" },
      h("div", { class: "card-head" },
        h("h2", { id: "queue-title" }, "Approval queue"),
        h("span", { class: "muted small" }, "Oldest first")),
      queue.items.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "responsive", "aria-labelledby": "queue-title" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Submitted"), h("th", { scope: "col" }, "Account"),
            h("th", { scope: "col", class: "num" }, "Amount"), h("th", { scope: "col" }, "Method"),
            h("th", { scope: "col" }, "Reference"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
          body))
        : h("p", { class: "empty" }, "No payments await approval."),
      h("div", { class: "actions" }, more)),
    renewalsSection(renewals),
    accountStates(status.accounts),
    referenceSearch(),
    serviceKeysSection(keys));
}

function historyList(history) {
  if (!history.length) return h("p", { class: "muted" }, "No recorded changes.");
  return h("ol", { class: "timeline" }, history.map((event) => h("li", {},
    h("div", {}, h("strong", {}, humanize(event.action)), " · ",
      event.from_status ? [badge(event.from_status), " → "] : null, badge(event.to_status)),
    h("div", { class: "when" }, `${dateTime(event.at)} by ${["submitted", "proof_attached"].includes(event.action) ? "the customer" : event.actor}`),
    event.notes ? h("div", { class: "small" }, `“${event.notes}”`) : null)));
}

function decisionForms(payment, invoice) {
  const approveButton = h("button", { class: "btn btn-success", type: "submit" }, "Approve payment");
  const approveForm = h("form", { novalidate: true, "aria-labelledby": "approve-title" },
    h("h3", { id: "approve-title" }, "Approve"),
    h("p", { class: "small muted" }, approveText(payment, invoice)),
    formAlert(),
    field({ label: "Notes", name: "admin_notes", kind: "textarea", optional: true, hint: "e.g. “Verified in bank statement”." }),
    approveButton);
  const rejectButton = h("button", { class: "btn btn-danger", type: "submit" }, "Reject payment");
  const rejectForm = h("form", { novalidate: true, "aria-labelledby": "reject-title" },
    h("h3", { id: "reject-title" }, "Reject"),
    h("p", { class: "small muted" }, "The invoice stays pending and the user sees your reason and can submit again."),
    formAlert(),
    field({ label: "Reason", name: "admin_notes", kind: "textarea", hint: "Required. The user sees it, e.g. “Reference not found in the statement”." }),
    rejectButton);

  const decide = (form, button, label, call, done) => {
    const keyFor = idempotencyKeys();
    form.addEventListener("submit", (event) => submitDecision(event, form, button, label, call, done, keyFor));
  };
  const submitDecision = async (event, form, button, label, call, done, keyFor) => {
    event.preventDefault();
    clearErrors(form);
    const notes = values(form).admin_notes;
    if (form === rejectForm && !notes) return showErrors(form, { admin_notes: "Give a reason for the rejection" });
    try {
      const result = await busy(button, label, () => call(payment.id, notes, keyFor({ notes })));
      toast(done(result));
      await render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.fieldErrors, error.message);
    }
    return undefined;
  };
  decide(approveForm, approveButton, "Approving…", api.approve,
    (r) => (r.invoice?.status === "partially_paid"
      ? `Approved a part payment: ${money(r.invoice.amount_due, r.invoice.currency)} ${r.invoice.currency} is still due.`
      : `Approved: ${r.account.name} is active with ${count(r.account.credits)} credits.`));
  decide(rejectForm, rejectButton, "Rejecting…", api.reject,
    () => "Rejected: the user can submit the payment again.");
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "decision-title" },
    h("h2", { id: "decision-title" }, "Decision"),
    h("div", { class: "grid grid-2" }, approveForm, rejectForm));
}

export async function adminPaymentView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const detail = await api.payment(ctx.params.id);
  const { payment, invoice, account, history } = detail;
  const snapshot = invoice?.billing_snapshot ?? {};
  const [methods, packs] = await Promise.all([api.paymentMethods(snapshot.country).catch(() => []),
    invoice?.kind === "topup" ? api.plans().then((catalog) => catalog.packs ?? [], () => []) : []]);
  const method = methodName(payment.payment_method, methods.filter((m) => m.country !== null).concat(methods));
  const decided = payment.status !== "pending_approval";
  const kv = (pairs) => h("dl", { class: "kv" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  ctx.show(`Payment ${payment.manual_reference}`,
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Approval queue")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Payment ${payment.manual_reference}`),
        h("p", {}, `${said(payment.amount, payment.currency)} by ${method} · submitted ${age(payment.created_at)}`)),
      h("span", { "data-payment-status": payment.status }, badge(payment.status))),
    decided ? h("section", { class: `banner ${payment.status === "succeeded" ? "banner-success" : "banner-danger"}`, role: "status" },
      h("h2", {}, payment.status === "succeeded" ? "Approved" : "Rejected"),
      h("p", {}, `Decided by ${payment.decided_by} on ${dateTime(payment.decided_at)}`,
        payment.admin_notes ? [": ", h("strong", {}, payment.admin_notes)] : ".")) : null,
    h("div", { class: "grid grid-3" },
      h("section", { class: "card" }, h("h2", {}, "Payment"), kv([
        ["Amount", said(payment.amount, payment.currency)],
        ...settlementRows(payment),
        ["Method", method],
        ["Bank reference", h("span", { class: "mono", "data-bank-reference": true }, payment.manual_reference)],
        ["Payment reference", paymentReference(detail.payment_reference, { copy: false })],
        ["Review hints", reviewHints(detail, { detail: true }) ?? h("span", { class: "muted" }, "None")],
        payment.manual_notes ? ["User's notes", payment.manual_notes] : null,
        ["Submitted", dateTime(payment.created_at)],
        ["Status", badge(payment.status)],
      ])),
      h("section", { class: "card" }, h("h2", {}, "Invoice"), invoice ? [kv([
        ["Number", invoice.invoice_number],
        ["Amount", `${money(invoice.amount, invoice.currency)} ${invoice.currency}`],
        ...invoiceMoneyRows(invoice, payment),
        invoice.kind === "topup" ? ["For", invoiceLabel(invoice, [], packs)] : ["Plan", humanize(invoice.plan)],
        ["Status", badge(invoice.status)],
        ["Billed to", snapshot.billing_name ?? "—"],
        ["Country", countryName(snapshot.country)],
      ]), h("div", { class: "actions" }, pdfButton(invoice, api.adminInvoicePdf))] : h("p", { class: "muted" }, "Missing.")),
      h("section", { class: "card" }, h("h2", {}, "Account"), account ? kv([
        ["Name", accountLink(account.id, account.name, { "aria-label": `Account ${account.name}` })],
        ["Status", h("span", { "data-account-status": account.status }, badge(account.status))],
        ["Credits", count(account.credits)],
        ["Plan", humanize(account.plan)],
        ["Billing email", snapshot.billing_email ?? "—"],
      ]) : h("p", { class: "muted" }, "Missing."))),
    receiptCard(payment, detail.proof_url),
    decided ? null : decisionForms(payment, invoice),
    h("section", { class: "card", style: "margin-top:1rem" }, h("h2", {}, "History"), historyList(history)));
}

/** The payer's receipt: a link that opens it (valid for a few minutes) and, for an image, a preview. */
function receiptCard(payment, url) {
  const body = !payment.proof
    ? h("p", { class: "muted" }, "No receipt attached.")
    : [
      h("p", { class: "small muted" }, `${proofSummary(payment.proof)}, attached ${dateTime(payment.proof.uploaded_at)}.`),
      url ? h("p", {}, h("a", { class: "btn btn-secondary", href: url, target: "_blank", rel: "noopener noreferrer", "data-receipt-link": true },
        "View receipt", h("span", { class: "visually-hidden" }, " (opens in a new tab)"))) : null,
      url && payment.proof.content_type.startsWith("image/")
        ? h("img", { class: "receipt-preview", src: url, alt: "The payer's receipt", "data-receipt-preview": true })
        : null,
      url ? h("p", { class: "small muted" }, "The link works for 5 minutes; reload the page for a new one.") : null,
    ];
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "receipt-title", "data-receipt": payment.proof ? "attached" : "none" },
    h("h2", { id: "receipt-title" }, "Receipt"), body);
}
