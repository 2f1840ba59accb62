// What the confirmation modal asks when the amount sent is not the amount due: less than the least
// that counts as paying in full ("Is this a partial payment?"), or more than is due ("Did you pay
// more on purpose?"). Each says what then remains due or goes to the account's balance, with the
// API's roundings (amounts.js), so the figures are the ones the invoice shows after approval.
import { h, nextId } from "../dom.js";
import { convert, convertBack, fromMinor, said, toMinor } from "../amounts.js";

/** The invoice's quote in `currency`, or null for the invoice's own currency. */
function quoteIn(invoice, currency) {
  if (currency === invoice.currency) return null;
  return (invoice.quotes ?? []).find((quote) => quote.currency === currency) ?? null;
}

/** What the invoice is paid by `amount` sent in `currency`, in minor units of the invoice currency. */
function applied(invoice, currency, amount) {
  const quote = quoteIn(invoice, currency);
  return quote ? convertBack(toMinor(amount), quote.rate) : toMinor(amount);
}

const owed = (invoice) => toMinor(invoice.amount_due ?? invoice.amount);

/** What a part payment leaves due: in the invoice currency, and in the one it was sent in. */
export function remainingAfter(invoice, currency, amount) {
  const paid = applied(invoice, currency, amount);
  const rest = owed(invoice) - (paid < owed(invoice) ? paid : owed(invoice) - 1n);
  const quote = quoteIn(invoice, currency);
  return { invoice: fromMinor(rest), local: quote ? fromMinor(convert(rest, quote.rate)) : null };
}

/** What an overpayment puts in the balance, in the invoice currency ("0.00" or less: nothing). */
export function excessOf(invoice, currency, amount) {
  return fromMinor(applied(invoice, currency, amount) - owed(invoice));
}

/** The accepted range as words: "From PKR 24,714.86 to PKR 24,964.50 counts as paid in full." */
export function rangeText(range) {
  const top = said(range.max, range.currency);
  if (range.min === range.max) return `Due: ${top}.`;
  return `Due: ${top}. Anything from ${said(range.min, range.currency)} up to that counts as paid in full `
    + "(a little less is accepted for transfer fees).";
}

/**
 * The question for an amount outside the range: `kind` "partial" (below `range.min`) or
 * "overpayment" (above `range.max`). `onYes(button)` resubmits saying so; `onNo()` goes back to
 * the form to correct the amount.
 */
export function amountQuestion({ kind, invoice, range, amount, onYes, onNo }) {
  const titleId = nextId("question-title");
  const currency = range.currency;
  const sent = said(amount, currency);
  const due = said(range.max, currency);
  let title;
  let lines;
  let yesLabel;
  if (kind === "partial") {
    const rest = remainingAfter(invoice, currency, amount);
    const restText = rest.local === null ? said(rest.invoice, invoice.currency)
      : `${said(rest.local, currency)} (${said(rest.invoice, invoice.currency)})`;
    title = "Is this a partial payment?";
    yesLabel = "Yes, it is a partial payment";
    lines = [
      h("p", {}, `You entered ${sent}, less than the ${due} due`,
        range.min !== range.max ? ` (${said(range.min, currency)} or more counts as paying it in full).` : "."),
      h("p", { dataset: { remaining: rest.invoice, remainingLocal: rest.local ?? "" } },
        "If you sent part of it on purpose, say so: once it is approved, ", h("strong", {}, restText),
        ` will remain due on invoice ${invoice.invoice_number}, to send the same way.`),
    ];
  } else {
    const excess = excessOf(invoice, currency, amount);
    title = "Did you pay more on purpose?";
    yesLabel = "Yes, I paid more on purpose";
    lines = [
      h("p", {}, `You entered ${sent}, more than the ${due} due.`),
      h("p", { dataset: { excess } }, "If you did, say so: once it is approved the invoice is paid in full and the ",
        h("strong", {}, `${said(excess, invoice.currency)} extra`),
        " becomes balance on your account, applied to your next invoice."),
    ];
  }
  const yes = h("button", { class: "btn", type: "button" }, yesLabel);
  const no = h("button", { class: "btn btn-secondary", type: "button" }, "No, correct the amount");
  yes.addEventListener("click", () => onYes(yes));
  no.addEventListener("click", onNo);
  const heading = h("h3", { id: titleId, tabindex: "-1" }, title);
  return h("section", { class: "amount-question", role: "group", "aria-labelledby": titleId, dataset: { question: kind } },
    heading, lines,
    h("p", { class: "small muted" }, "If the amount is mistyped, correct it instead."),
    h("div", { class: "actions end" }, no, yes));
}
