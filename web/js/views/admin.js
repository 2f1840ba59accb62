// The admin console: the system status, the approval queue, the unpaid renewals, account search, and
// a payment to approve (by two admins above the API's threshold) or reject, or, once approved, to
// reverse. What the admin's role cannot do is left out or disabled, with the role it needs.
import { ApiError, api, idempotencyKeys, session } from "../api.js";
import { age, badge, count, countryName, dateTime, h, humanize, money, toast } from "../dom.js";
import { paymentMethodName } from "../components/methods.js";
import { proofSummary } from "../components/proof.js";
import { TID, paymentReference } from "../components/reference.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { accountStates, renewalsSection } from "./admin-renewals.js";
import { accountLink } from "./admin-account.js";
import { serviceKeysSection } from "./admin-keys.js";
import { invoiceLabel } from "../components/pending-banner.js";
import { pdfButton } from "../components/invoice-pdf.js";
import { approveText, invoiceMoneyRows, settlementNote, settlementRows } from "./admin-settlement.js";
import { said } from "../amounts.js";
import { confirmDialog, STAY } from "../components/dialog.js";
import { historyList } from "../components/history.js";
import { approvalsNote, needsTwo } from "../components/approvals.js";
import { accountSearchCard } from "./admin-accounts.js";
import { APPROVER, OWNER, ROLE_DUTIES, adminRole, can, gate, roleBadge, roleNote } from "../roles.js";

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
 * The review hints of a payment: "Payment reference matches" when the bank transaction ID / TID the
 * payer entered contains the invoice's payment reference, "Resubmits … — rejected: <reason>" linking
 * the invoice's payment rejected before it, and "Possible duplicate of …" linking the payments it may repeat.
 */
function reviewHints({ flags }, { detail = false } = {}) {
  if (!flags) return null;
  const duplicates = flags.near_duplicate_of ?? [];
  const hints = [];
  if (flags.reference_matches) {
    hints.push(h("span", { class: "badge badge-success", "data-hint": "reference-matches" }, "Payment reference matches"));
  } else if (detail) {
    hints.push(h("span", { class: "badge badge-neutral", "data-hint": "reference-missing" },
      "Payment reference not in the bank transaction ID / TID"));
  }
  if (flags.resubmits) {
    const { payment_id: id, rejection_reason: reason } = flags.resubmits;
    hints.push(h("span", { class: "hint-resubmits", "data-hint": "resubmits" }, "Resubmits ",
      h("a", { href: `/admin/payments/${encodeURIComponent(id)}`, class: "mono",
        "aria-label": `Resubmits rejected payment ${id}` }, detail ? id : shortId(id)),
      reason ? ` — rejected: ${reason}` : " — rejected"));
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
    h("td", { "data-label": "Account" }, accountLink(payment.account_id, payment.account?.name),
      payment.account?.owner_email ? h("div", { class: "small muted account-email", dataset: { ownerEmail: "" } },
        payment.account.owner_email) : null),
    h("td", { "data-label": "Amount", class: "num" }, said(payment.amount, payment.currency),
      settlementNote(payment), approvalsNote(payment)),
    h("td", { "data-label": "Method" }, paymentMethodName(payment)),
    h("td", { "data-label": TID }, h("span", { class: "mono" }, payment.manual_reference),
      payment.payment_reference ? h("div", { class: "small muted" }, "Payment reference: ", h("span", { class: "mono" }, payment.payment_reference)) : null,
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
  const owner = can(OWNER);
  const [status, queue, renewals, keys] = await Promise.all([api.status(), api.approvalQueue(),
    api.renewals().catch(failed), owner ? api.serviceKeys().catch(failed) : null]);
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
      h("div", {}, h("h1", {}, "Admin console"), h("p", {}, can(APPROVER)
        ? "Check each payment against the bank or wallet statement, then approve or reject it."
        : "The payments awaiting approval, the renewals and the accounts: you read them, approvers decide.")),
      h("p", { class: "small role-line", dataset: { adminRole: adminRole() } }, "Your role: ", roleBadge(adminRole()),
        h("span", { class: "muted" }, `— ${ROLE_DUTIES[adminRole()]}`))),
    h("h2", { class: "visually-hidden" }, "System status"),
    statusCards(status),
    h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "queue-title" },
      h("div", { class: "card-head" },
        h("h2", { id: "queue-title" }, "Approval queue"),
        h("span", { class: "muted small" }, "Oldest first")),
      queue.items.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "responsive cards", "aria-labelledby": "queue-title" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Submitted"), h("th", { scope: "col" }, "Account"),
            h("th", { scope: "col", class: "num" }, "Amount"), h("th", { scope: "col" }, "Method"),
            h("th", { scope: "col" }, TID), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
          body))
        : h("p", { class: "empty" }, "No payments await approval."),
      h("div", { class: "actions" }, more)),
    accountSearchCard(),
    renewalsSection(renewals),
    accountStates(status.accounts),
    referenceSearch(),
    owner ? serviceKeysSection(keys) : null);
}

/** Who approves: "Give the first approval" / "Give the second approval" for a payment that needs
 *  two, and whether the signed-in admin gave the first (another admin gives the second). */
function approvalStep(payment) {
  const approvals = payment.approvals ?? [];
  if (!needsTwo(payment)) return { label: "Approve payment", busyLabel: "Approving…", mine: false, first: null };
  const first = approvals[0] ?? null;
  return {
    label: first ? "Give the second approval" : "Give the first approval",
    busyLabel: "Approving…",
    mine: Boolean(first && first.by === session.user?.email),
    first,
  };
}

/** The state of a payment that needs two approvals, above the decision forms. */
function approvalsBanner(payment) {
  if (!needsTwo(payment) || payment.status !== "pending_approval") return null;
  const { first, mine } = approvalStep(payment);
  if (mine) {
    return h("section", { class: "banner banner-info", role: "status", dataset: { firstApproval: "mine" } },
      h("h2", {}, "First approval recorded: another admin gives the second"),
      h("p", {}, `You approved it on ${dateTime(first.at)}. It stays in the approval queue until another admin approves it too.`));
  }
  return h("section", { class: "banner banner-info", role: "status", dataset: { firstApproval: first ? "given" : "none" } },
    h("h2", {}, first ? "1 of 2 approvals" : "This payment needs two approvals"),
    h("p", {}, first ? [`${first.by} gave the first approval on ${dateTime(first.at)}. `,
      "The second approval, by another admin, approves it."]
      : "It is worth more than the single-approval limit: two different admins approve it. The first approval changes nothing else."));
}

function decisionForms(payment, invoice) {
  const step = approvalStep(payment);
  const approveButton = h("button", { class: "btn btn-success", type: "submit", dataset: { approve: needsTwo(payment) ? (step.first ? "second" : "first") : "single" } },
    step.label);
  if (step.mine) {
    approveButton.disabled = true;
    approveButton.title = "You gave the first approval: another admin gives the second.";
  }
  const twoText = !needsTwo(payment) ? null : step.first
    ? "The second of two approvals: "
    : "The first of two approvals is recorded and changes nothing else. The second, by another admin: ";
  const approveForm = h("form", { novalidate: true, "aria-labelledby": "approve-title" },
    h("h3", { id: "approve-title" }, "Approve"),
    h("p", { class: "small muted" }, twoText ? `${twoText}${approveText(payment, invoice).replace(/^./, (c) => c.toLowerCase())}`
      : approveText(payment, invoice)),
    formAlert(),
    field({ label: "Notes", name: "admin_notes", kind: "textarea", optional: true, hint: "e.g. “Verified in bank statement”." }),
    gate(approveButton, APPROVER));
  const rejectButton = gate(h("button", { class: "btn btn-danger", type: "submit" }, "Reject payment"), APPROVER);
  const rejectForm = h("form", { novalidate: true, "aria-labelledby": "reject-title" },
    h("h3", { id: "reject-title" }, "Reject"),
    h("p", { class: "small muted" }, "The invoice stays pending and the user sees your reason and can submit again."),
    formAlert(),
    field({ label: "Reason", name: "admin_notes", kind: "textarea", hint: "Required. The user sees it, e.g. “Bank transaction ID / TID not found in the statement”." }),
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
      const words = error.code === "second_approver_required"
        ? `Second approver required: ${error.message}` : error.message;
      showErrors(form, error.fieldErrors, words);
      form.querySelector("[data-form-alert]").dataset.code = error.code;
    }
    return undefined;
  };
  decide(approveForm, approveButton, "Approving…", api.approve,
    (r) => (r.payment?.status === "pending_approval"
      ? "First approval recorded: another admin gives the second."
      : r.invoice?.status === "partially_paid"
        ? `Approved a part payment: ${money(r.invoice.amount_due, r.invoice.currency)} ${r.invoice.currency} is still due.`
        : `Approved: ${r.account.name} is active with ${count(r.account.credits)} credits.`));
  decide(rejectForm, rejectButton, "Rejecting…", api.reject,
    () => "Rejected: the user can submit the payment again.");
  const section = h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "decision-title" },
    h("h2", { id: "decision-title" }, "Decision"),
    can(APPROVER) ? null : roleNote("Approvers and owners approve or reject payments.", APPROVER),
    h("div", { class: "grid grid-2" }, approveForm, rejectForm));
  if (!can(APPROVER)) for (const notes of section.querySelectorAll("textarea")) notes.disabled = true;
  return section;
}

/** "Reverse payment" (owners, a succeeded payment): the reason in a dialog, then the API's answer. */
function reverseSection(payment) {
  if (payment.status !== "succeeded") return null;
  const button = h("button", { class: "btn btn-danger", type: "button", dataset: { reverse: payment.id } }, "Reverse payment");
  button.addEventListener("click", async () => {
    const keyFor = idempotencyKeys();
    const done = await confirmDialog({
      title: `Reverse payment ${payment.manual_reference}?`,
      subtitle: `${said(payment.amount, payment.currency)} · approved ${dateTime(payment.decided_at)}`,
      body: [h("p", {}, "For a chargeback, a transfer the bank sent back, or an approval made by mistake: the payment "
        + "becomes reversed, and what its approval did to the invoice, the subscription and the account is undone."),
      field({ label: "Reason", name: "reason", kind: "textarea", attrs: { maxlength: 1000 },
        hint: "Required. Kept in the payment's history, e.g. “Chargeback from the bank on Dec 3”." })],
      confirmLabel: "Reverse payment", busyLabel: "Reversing…", tone: "danger", name: "reverse-payment",
      onConfirm: async (form) => {
        const { reason } = values(form);
        if (!reason) {
          showErrors(form, { reason: "Give the reason for the reversal" });
          return STAY;
        }
        try {
          return await api.reversePayment(payment.id, reason, keyFor({ reason }));
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error.fieldErrors, error.message);
          return STAY;
        }
      },
    });
    if (!done) return;
    toast(`Reversed ${payment.manual_reference}${done.invoice ? `: invoice ${done.invoice.invoice_number} is ${humanize(done.invoice.status).toLowerCase()}` : ""}`
      + `${done.account ? `, ${done.account.name} is ${humanize(done.account.status).toLowerCase()}` : ""}.`);
    await render();
  });
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "reverse-title", dataset: { reversal: "" } },
    h("h2", { id: "reverse-title" }, "Reversal"),
    h("p", { class: "small muted" }, "If the money was returned or never arrived, an owner reverses the payment, with the reason."),
    can(OWNER) ? null : roleNote("Owners reverse payments.", OWNER),
    h("div", { class: "actions" }, gate(button, OWNER)));
}

export async function adminPaymentView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const detail = await api.payment(ctx.params.id);
  const { payment, invoice, account, history } = detail;
  const snapshot = invoice?.billing_snapshot ?? {};
  const [methods, packs] = await Promise.all([api.paymentMethods(snapshot.country).catch(() => []),
    invoice?.kind === "topup" ? api.plans().then((catalog) => catalog.packs ?? [], () => []) : []]);
  const method = paymentMethodName(payment, methods.filter((m) => m.country !== null).concat(methods));
  const decided = payment.status !== "pending_approval";
  const kv = (pairs) => h("dl", { class: "kv" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  ctx.show(`Payment ${payment.manual_reference}`,
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Approval queue")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Payment ${payment.manual_reference}`),
        h("p", {}, `${said(payment.amount, payment.currency)} by ${method} · submitted ${age(payment.created_at)}`)),
      h("span", { "data-payment-status": payment.status }, badge(payment.status))),
    decided ? decidedBanner(payment) : approvalsBanner(payment),
    h("div", { class: "grid grid-3 payment-grid" },
      h("section", { class: "card" }, h("h2", {}, "Payment"), kv([
        ["Amount", said(payment.amount, payment.currency)],
        ...settlementRows(payment),
        ["Method", method],
        [TID, h("span", { class: "mono", "data-bank-reference": true }, payment.manual_reference)],
        ["Payment reference", paymentReference(detail.payment_reference, { copy: false })],
        ["Review hints", reviewHints(detail, { detail: true }) ?? h("span", { class: "muted" }, "None")],
        payment.manual_notes ? ["User's notes", payment.manual_notes] : null,
        ["Submitted", dateTime(payment.created_at)],
        ["Status", badge(payment.status)],
        needsTwo(payment) ? ["Approvals", approvalsNote(payment, { detail: true })] : null,
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
    decided ? reverseSection(payment) : decisionForms(payment, invoice),
    h("section", { class: "card", style: "margin-top:1rem" }, h("h2", {}, "History"), historyList(history)));
}

/** Approved (by whom: both approvers of a payment that needed two), rejected or reversed. */
function decidedBanner(payment) {
  const tone = { succeeded: "banner-success", failed: "banner-danger" }[payment.status] ?? "banner-warning";
  const title = { succeeded: "Approved", failed: "Rejected", reversed: "Reversed" }[payment.status] ?? humanize(payment.status);
  const approvals = payment.approvals ?? [];
  const who = payment.status === "succeeded" && approvals.length === 2
    ? `Approved by ${approvals[0].by} (first approval, ${dateTime(approvals[0].at)}) and ${approvals[1].by} on ${dateTime(approvals[1].at)}`
    : `Decided by ${payment.decided_by} on ${dateTime(payment.decided_at)}`;
  const reversal = payment.reversal
    ? h("p", { dataset: { reversal: "" } }, `Reversed by ${payment.reversal.by} on ${dateTime(payment.reversal.at)}: `,
      h("strong", {}, payment.reversal.reason))
    : null;
  const approved = payment.status === "reversed" ? `Approved by ${payment.decided_by} on ${dateTime(payment.decided_at)}` : who;
  return h("section", { class: `banner ${tone}`, role: "status", dataset: { decided: payment.status } },
    h("h2", {}, title), reversal,
    h("p", {}, reversal ? `Before that: ${approved.charAt(0).toLowerCase()}${approved.slice(1)}` : approved,
      payment.admin_notes ? [": ", h("strong", {}, payment.admin_notes)] : "."));
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
