// What a payment settles of its invoice, for the admin: the currency it was sent in (the figure on
// the bank statement), full / partial / overpayment, what it pays of the invoice, the shortfall
// written off, the excess to the account's balance, and the rate fixed on the invoice.
import { h, humanize } from "../dom.js";
import { exactly, said } from "../amounts.js";

const SETTLES = { full: "badge-success", partial: "badge-warning", overpayment: "badge-info" };
const nonZero = (amount) => amount && amount !== "0.00";

/** "Partial" / "Overpayment" as a badge (and "Full" when `always`). */
export function settlesBadge(payment, { always = false } = {}) {
  const settles = payment.settles ?? "full";
  if (settles === "full" && !always) return null;
  return h("span", { class: `badge ${SETTLES[settles] ?? "badge-neutral"}`, dataset: { settles } }, humanize(settles));
}

/** The queue's note under the amount: "= $89.00 USD" for a local currency, the kind when not full. */
export function settlementNote(payment) {
  const parts = [payment.rate ? `= ${said(payment.applied, payment.invoice_currency)}` : null, settlesBadge(payment)];
  if (!parts.some(Boolean)) return null;
  return h("div", { class: "small muted" }, parts.filter(Boolean).flatMap((part, i) => (i ? [" ", part] : [part])));
}

/** The payment card's rows: [label, value] pairs, the trivial ones left out. */
export function settlementRows(payment) {
  const invoiceCurrency = payment.invoice_currency ?? payment.currency;
  const inInvoice = (amount) => said(amount, invoiceCurrency);
  return [
    ["Currency paid", h("span", { "data-paid-currency": payment.currency }, payment.currency)],
    ["Settles", settlesBadge(payment, { always: true })],
    payment.rate ? ["Rate", h("span", { "data-rate": payment.rate },
      `${payment.rate} ${payment.currency} per ${invoiceCurrency} (fixed on the invoice)`)] : null,
    payment.rate || payment.applied !== payment.amount
      ? ["Applied", h("span", { "data-applied": payment.applied }, `${inInvoice(payment.applied)} of the invoice`)] : null,
    nonZero(payment.written_off) ? ["Written off", h("span", { "data-written-off": payment.written_off },
      `${inInvoice(payment.written_off)} (within the tolerance)`)] : null,
    nonZero(payment.excess) ? ["Excess", h("span", { "data-excess": payment.excess },
      `${inInvoice(payment.excess)} to the account's balance`)] : null,
  ];
}

/** The invoice card's rows about money: what is due, paid, and the quote in the payment's currency. */
export function invoiceMoneyRows(invoice, payment) {
  const quote = (invoice.quotes ?? []).find((item) => item.currency === payment.currency);
  return [
    nonZero(invoice.amount_paid) ? ["Paid", said(invoice.amount_paid, invoice.currency)] : null,
    nonZero(invoice.written_off) ? ["Written off", said(invoice.written_off, invoice.currency)] : null,
    nonZero(invoice.balance_applied) ? ["From balance", said(invoice.balance_applied, invoice.currency)] : null,
    invoice.amount_due !== invoice.amount ? ["Due", h("span", { "data-invoice-due": invoice.amount_due },
      said(invoice.amount_due, invoice.currency))] : null,
    quote ? [`Quote in ${quote.currency}`, `${exactly(quote.amount, quote.currency)} at ${quote.rate}`
      + (quote.amount_due !== quote.amount ? `; ${exactly(quote.amount_due, quote.currency)} due` : "")] : null,
  ];
}

/** What approving does, by what the payment settles and the invoice's kind. */
export function approveText(payment, invoice) {
  if (payment.settles === "partial") {
    return "Records a part payment: the invoice stays open for the rest, and the account is activated once it is "
      + "paid in full.";
  }
  const base = invoice?.kind === "topup"
    ? "Marks the invoice paid and adds the pack's credits to the account's extra credits."
    : "Marks the invoice paid, activates the subscription and account, and adds the plan's credits.";
  const more = [
    nonZero(payment.written_off) ? `The ${said(payment.written_off, payment.invoice_currency)} short is written off.` : null,
    nonZero(payment.excess) ? `The ${said(payment.excess, payment.invoice_currency)} excess goes to the account's balance.` : null,
  ].filter(Boolean);
  return [base, ...more].join(" ");
}
