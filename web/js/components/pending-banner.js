// The banner shown while an account awaits payment or approval: what to pay, where, with which
// reference; or "submitted, awaiting approval"; or "rejected: reason — submit again".
import { date, dateTime, h, humanize, money, toast } from "../dom.js";
import { render } from "../router.js";
import { methodCard, methodName } from "./methods.js";
import { openConfirmModal } from "./confirm-modal.js";
import { attachProofForm, receiptAttached } from "./proof.js";

/** Open the confirmation modal for an invoice, then redraw the screen if a payment was submitted. */
export async function confirmFlow(invoice, methods, method) {
  const payment = await openConfirmModal({ invoice, methods, method });
  if (payment) {
    toast(`Payment confirmation submitted (${payment.manual_reference})${payment.proof ? " with its receipt" : ""}. `
      + "We will email you when it is checked.");
    await render();
  }
  return payment;
}

/** The banner for an invoice awaiting payment (`me.pending_invoice`, with `latest_payment`). */
export function pendingBanner(invoice, methods, { showInvoiceLink = true } = {}) {
  if (!invoice || invoice.status !== "pending") return null;
  const latest = invoice.latest_payment;
  const amount = `${money(invoice.amount, invoice.currency)} ${invoice.currency}`;
  const invoiceLink = showInvoiceLink
    ? h("a", { class: "btn btn-secondary", href: `/billing/invoices/${encodeURIComponent(invoice.id)}` }, "View invoice")
    : null;

  if (latest?.status === "pending_approval") {
    return h("section", { class: "banner banner-info", role: "status", "aria-labelledby": "banner-title", dataset: { banner: "awaiting_approval" } },
      h("h2", { id: "banner-title" }, "Payment submitted — awaiting approval"),
      h("p", {}, `We received your confirmation of ${money(latest.amount, latest.currency)} ${latest.currency} by `,
        h("strong", {}, methodName(latest.payment_method, methods)), " with reference ",
        h("span", { class: "reference" }, latest.manual_reference), ` on ${dateTime(latest.created_at)}.`),
      h("p", {}, "An admin checks it against the bank or wallet statement. We will email you as soon as it is decided.",
        latest.proof ? " There is nothing else to do." : " A receipt or screenshot of the payment helps them find it."),
      latest.proof ? h("p", {}, receiptAttached(latest, { long: true }))
        : h("div", { class: "pay-box" }, h("h3", { class: "small-title" }, "Attach a receipt", h("span", { class: "optional" }, " (optional)")),
          attachProofForm(latest, () => render())),
      invoiceLink ? h("div", { class: "actions" }, invoiceLink) : null);
  }

  const again = latest?.status === "failed";
  const preferred = methods.find((m) => m.payment_method === (latest?.payment_method ?? invoice.preferred_payment_method)) ?? methods[0];
  const confirmButton = h("button", {
    class: "btn", type: "button",
    onclick: () => confirmFlow(invoice, methods, preferred?.payment_method),
  }, again ? "Submit payment again" : "I have paid — confirm payment");

  if (again) {
    return h("section", { class: "banner banner-danger", role: "alert", "aria-labelledby": "banner-title", dataset: { banner: "rejected" } },
      h("h2", { id: "banner-title" }, "Payment rejected"),
      h("p", {}, "Your confirmation with reference ", h("span", { class: "reference" }, latest.manual_reference),
        " was rejected: ", h("strong", { "data-reason": true }, latest.admin_notes ?? "no reason given"), "."),
      h("p", {}, `Check the details and submit again. The invoice ${invoice.invoice_number} still awaits ${amount}.`),
      h("div", { class: "actions" }, confirmButton, invoiceLink));
  }

  return h("section", { class: "banner banner-warning", "aria-labelledby": "banner-title", dataset: { banner: "payment_due" } },
    h("h2", { id: "banner-title" }, `Payment due: ${amount}`),
    h("p", {}, `Your ${humanize(invoice.plan)} plan starts once invoice `, h("strong", {}, invoice.invoice_number),
      ` is paid (due ${date(invoice.due_date)}). Pay outside this site, then confirm the payment here.`),
    preferred ? h("div", { class: "pay-box" }, methodCard(preferred, { reference: invoice.payment_reference })) : null,
    methods.length > 1 ? h("p", { class: "small muted" }, "Other ways to pay are listed on the invoice.") : null,
    h("div", { class: "actions" }, confirmButton, invoiceLink));
}
