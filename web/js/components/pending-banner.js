// The banner shown while an account awaits payment or approval: what to pay (the first invoice, a
// renewal or an upgrade), where, with which payment reference; or "submitted, awaiting approval"; or
// "rejected: reason — submit again". A renewal unpaid after the period end says what happens when.
import { date, dateTime, h, humanize, money, period, toast } from "../dom.js";
import { fromMinor, said, toMinor } from "../amounts.js";
import { render } from "../router.js";
import { methodCard, paymentMethodName } from "./methods.js";
import { openConfirmModal } from "./confirm-modal.js";
import { attachProofForm, receiptAttached } from "./proof.js";

/** Open the confirmation modal for an invoice, then redraw the screen if a payment was submitted. */
export async function confirmFlow(invoice, methods, method, currency) {
  const payment = await openConfirmModal({ invoice, methods, method, currency });
  if (payment) {
    toast(`${payment.settles === "partial" ? "Partial payment" : "Payment"} confirmation submitted `
      + `(${payment.manual_reference})${payment.proof ? " with its receipt" : ""}. We will email you when it is checked.`);
    await render();
  }
  return payment;
}

const planName = (slug, plans) => plans.find((plan) => plan.slug === slug)?.name ?? humanize(slug);

/**
 * What an invoice is for: "Renewal for Jan 1 – Feb 1, 2027", "Upgrade to Growth", "Top-up: 1,000
 * extra credits" (a top-up's `plan` is its pack, named by `packs` of GET /billing/plans), or the plan.
 */
export function invoiceLabel(invoice, plans = [], packs = []) {
  if (invoice.kind === "renewal") return `Renewal for ${period(invoice.period_start, invoice.period_end)}`;
  if (invoice.kind === "upgrade") return `Upgrade to ${planName(invoice.plan, plans)}`;
  if (invoice.kind === "topup") {
    const pack = packs.find((item) => item.slug === invoice.plan);
    return pack ? `Top-up: ${pack.name}` : "Top-up: extra credits";
  }
  return `${planName(invoice.plan, plans)} plan`;
}

/** What is still to pay on an invoice ("0.00" once paid), as "$89.00 USD". */
export function amountDue(invoice) {
  const amount = invoice.amount_due ?? invoice.amount;
  return `${money(amount, invoice.currency)} ${invoice.currency}`;
}

/** "Partly paid: $42.74 USD of $89.00 USD paid; $46.26 USD is still due." */
export function partlyPaid(invoice) {
  const usd = (amount) => `${money(amount, invoice.currency)} ${invoice.currency}`;
  const paid = fromMinor(toMinor(invoice.amount) - toMinor(invoice.amount_due));
  return h("p", { dataset: { partlyPaid: invoice.amount_due } }, h("strong", {}, "Partly paid: "),
    `${usd(paid)} of ${usd(invoice.amount)} paid; ${usd(invoice.amount_due)} is still due.`);
}

/** Where a subscription stands with this invoice: "past_due" or "suspended" for its unpaid renewal. */
function dunning(invoice, subscription) {
  if (!subscription || !["past_due", "suspended"].includes(subscription.status)) return null;
  const renewal = invoice.kind === "renewal" || invoice.id === subscription.renewal_invoice_id;
  return renewal ? subscription.status : null;
}

/** The first lines of a due invoice: its title and what paying it does. */
function dueText(invoice, { subscription, plans, packs = [] }) {
  const number = h("strong", {}, invoice.invoice_number);
  const amount = amountDue(invoice);
  const state = dunning(invoice, subscription);
  if (state === "past_due") {
    return {
      tone: "danger", banner: "past_due", title: "Your renewal is unpaid",
      lines: [
        h("p", {}, "Pay invoice ", number, ` (${amount}) by `, h("strong", {}, date(subscription.suspends_at)),
          " to keep your service."),
        h("p", {}, `${invoiceLabel(invoice, plans)}. Your extra credits stay usable until then; the plan's `
          + "credits for the new period are added when the payment is approved."),
      ],
    };
  }
  if (state === "suspended") {
    return {
      tone: "danger", banner: "suspended", title: "Your account is suspended",
      lines: [
        h("p", {}, "Credits cannot be used. Pay invoice ", number, ` (${amount}) to reactivate it at once.`),
        h("p", {}, `${invoiceLabel(invoice, plans)}. If it stays unpaid, your subscription is cancelled on `,
          h("strong", {}, date(subscription.cancels_at)), "."),
      ],
    };
  }
  if (invoice.kind === "renewal") {
    return {
      tone: "warning", banner: "payment_due", title: `${invoiceLabel(invoice, plans)}: ${amount}`,
      lines: [h("p", {}, "Invoice ", number, ` renews your ${planName(invoice.plan, plans)} plan. Pay it by `
        + `${date(invoice.due_date)}, outside this site, then confirm the payment here.`)],
    };
  }
  if (invoice.kind === "topup") {
    return {
      tone: "warning", banner: "payment_due", title: `${invoiceLabel(invoice, plans, packs)} · ${amount}`,
      lines: [h("p", {}, "Pay invoice ", number, ` by ${date(invoice.due_date)}, outside this site, then confirm `
        + "the payment here. The credits are added to your extra credits, which never expire, once it is approved.")],
    };
  }
  if (invoice.kind === "upgrade") {
    return {
      tone: "warning", banner: "payment_due", title: `${invoiceLabel(invoice, plans)}: ${amount}`,
      lines: [h("p", {}, `Your plan changes to ${planName(invoice.plan, plans)} once invoice `, number,
        ` is paid (due ${date(invoice.due_date)}). Pay outside this site, then confirm the payment here.`)],
    };
  }
  return {
    tone: "warning", banner: "payment_due", title: `Payment due: ${amount}`,
    lines: [h("p", {}, `Your ${planName(invoice.plan, plans)} plan starts once invoice `, number,
      ` is paid (due ${date(invoice.due_date)}). Pay outside this site, then confirm the payment here.`)],
  };
}

/**
 * The banner for an invoice awaiting payment (`me.pending_invoice`, with `latest_payment`).
 * `subscription` (me.subscription) tells a renewal that is past due or suspended; `plans` names plans.
 */
export function pendingBanner(invoice, methods, { showInvoiceLink = true, subscription = null, plans = [], packs = [] } = {}) {
  if (!invoice || !["pending", "partially_paid"].includes(invoice.status)) return null;
  const latest = invoice.latest_payment;
  const amount = amountDue(invoice);
  const state = dunning(invoice, subscription);
  const invoiceLink = showInvoiceLink
    ? h("a", { class: "btn btn-secondary", href: `/billing/invoices/${encodeURIComponent(invoice.id)}` }, "View invoice")
    : null;

  if (latest?.status === "pending_approval") {
    return h("section", {
      class: "banner banner-info", role: "status", "aria-labelledby": "banner-title",
      dataset: { banner: "awaiting_approval", invoiceKind: invoice.kind ?? "signup" },
    },
      h("h2", { id: "banner-title" }, "Payment submitted — awaiting approval"),
      invoice.kind && invoice.kind !== "signup"
        ? h("p", { class: "small" }, `${invoiceLabel(invoice, plans, packs)} · invoice ${invoice.invoice_number}`) : null,
      h("p", {}, `We received your confirmation of ${said(latest.amount, latest.currency)}`,
        latest.settles === "partial" ? " as a part payment" : null, " by ",
        h("strong", {}, paymentMethodName(latest, methods)), " with bank transaction ID / TID ",
        h("span", { class: "reference" }, latest.manual_reference), ` on ${dateTime(latest.created_at)}.`),
      state === "past_due" ? h("p", {}, "Your service continues while it is checked.") : null,
      state === "suspended" ? h("p", {}, "Your account is reactivated as soon as it is approved.") : null,
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
    // Submitting again repeats the rejected payment's method and currency.
    onclick: () => confirmFlow(invoice, methods, preferred?.payment_method, again ? latest.currency : null),
  }, again ? "Submit payment again" : "I have paid — confirm payment");

  if (again) {
    return h("section", {
      class: "banner banner-danger", role: "alert", "aria-labelledby": "banner-title",
      dataset: { banner: "rejected", invoiceKind: invoice.kind ?? "signup" },
    },
      h("h2", { id: "banner-title" }, "Payment rejected"),
      h("p", {}, "Your confirmation with bank transaction ID / TID ", h("span", { class: "reference" }, latest.manual_reference),
        " was rejected: ", h("strong", { "data-reason": true }, (latest.admin_notes ?? "no reason given").replace(/[.!?]+$/, "")), "."),
      h("p", {}, `Check the details and submit again. The invoice ${invoice.invoice_number}`
        + `${invoice.kind && invoice.kind !== "signup" ? ` (${invoiceLabel(invoice, plans, packs)})` : ""} still awaits ${amount}.`),
      state ? dueText(invoice, { subscription, plans, packs }).lines[0] : null,
      h("div", { class: "actions" }, confirmButton, invoiceLink));
  }

  const due = dueText(invoice, { subscription, plans, packs });
  return h("section", {
    class: `banner banner-${due.tone}`, "aria-labelledby": "banner-title",
    dataset: { banner: due.banner, invoiceKind: invoice.kind ?? "signup" },
  },
    h("h2", { id: "banner-title" }, due.title),
    due.lines,
    invoice.status === "partially_paid" ? partlyPaid(invoice) : null,
    preferred ? h("div", { class: "pay-box" }, methodCard(preferred, { reference: invoice.payment_reference, invoice })) : null,
    methods.length > 1 && showInvoiceLink ? h("p", { class: "small muted" }, "Other ways to pay are listed on the invoice.") : null,
    h("div", { class: "actions" }, confirmButton, invoiceLink));
}
