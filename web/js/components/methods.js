// Payment methods: how to pay with one (instructions and account details), and a selector of them.
import { h, humanize, nextId } from "../dom.js";
import { choiceCard } from "../forms.js";
import { exactly, quoteFor } from "../amounts.js";
import { copyButton } from "./copy.js";
import { YOUR_REFERENCE, paymentReference } from "./reference.js";

const DETAIL_LABELS = {
  account_title: "Account title",
  bank_name: "Bank",
  account_number: "Account number",
  iban: "IBAN",
  swift: "SWIFT / BIC",
  ifsc: "IFSC",
  sort_code: "Sort code",
  wallet_number: "Wallet number",
  raast_id: "Raast ID",
  upi_id: "UPI ID",
  email: "Pay to",
  currency: "Currency",
};

// The details a payer types or pastes into their bank's or wallet's app, each with a Copy button
// (named after what it copies: "Copy IBAN"); the other codes are shown in monospace too.
const COPYABLE = {
  account_number: "account number", iban: "IBAN", wallet_number: "wallet number", raast_id: "Raast ID", upi_id: "UPI ID",
};
const MONO = new Set([...Object.keys(COPYABLE), "swift", "ifsc", "sort_code"]);

/** An IBAN in groups of four ("PK36 MEZN 0001 ..."), each group kept on one line: lines break between groups. */
export function groupedIban(iban) {
  const groups = String(iban).replace(/\s+/g, "").match(/.{1,4}/g) ?? [];
  return groups.flatMap((group, i) => [i ? " " : null, h("span", { class: "iban-group" }, group)]);
}

/** A detail's value as shown; a copyable one with its Copy button, which copies it without spaces. */
function detailValue(key, value) {
  const text = String(value);
  if (!(key in COPYABLE)) return text;
  const raw = text.replace(/\s+/g, "");
  const shown = h("span", { class: "detail-value" }, key === "iban" ? groupedIban(raw) : text);
  return h("span", { class: "detail-copy" }, shown,
    copyButton(raw, { name: `Copy ${COPYABLE[key]}`, target: shown, what: `the ${COPYABLE[key]}` }));
}

/** The account details of a method as a definition list, in a stable, readable order. */
export function methodDetails(method) {
  const details = method.details ?? {};
  const given = Object.keys(details).filter((key) => details[key] !== null && details[key] !== "");
  const keys = [...Object.keys(DETAIL_LABELS).filter((key) => given.includes(key)),
    ...given.filter((key) => !(key in DETAIL_LABELS))];
  if (!keys.length) return null;
  return h("dl", { class: "kv method-details" }, keys.flatMap((key) => [
    h("dt", {}, DETAIL_LABELS[key] ?? humanize(key)),
    h("dd", { class: MONO.has(key) ? "mono" : null, dataset: { detail: key } }, detailValue(key, details[key])),
  ]));
}

/**
 * "Send exactly PKR 24,964.50", for a method paid in a currency the invoice has a quote in: what is
 * still due in it at the rate fixed on the invoice (the quote's `amount_due`); otherwise null.
 */
export function sendExactly(invoice, method) {
  const quote = quoteFor(invoice, method);
  if (!quote) return null;
  const rest = quote.amount_due !== quote.amount;
  return h("div", { class: "send-exactly", dataset: { sendExactly: quote.currency, sendAmount: quote.amount_due } },
    h("p", { class: "send-line" }, "Send exactly ", h("strong", {}, exactly(quote.amount_due, quote.currency))),
    h("p", { class: "small muted" }, `fixed on this invoice at ${quote.rate} ${quote.currency} per ${invoice.currency}`,
      rest ? ` — what is still due of ${exactly(quote.amount, quote.currency)}` : null));
}

/** A method's name, where it applies, instructions and details; with `invoice`, the exact amount to send. */
export function methodCard(method, { reference, invoice } = {}) {
  return h("div", { class: "pay-method", dataset: { method: method.payment_method } },
    h("h3", {}, method.display_name),
    invoice ? sendExactly(invoice, method) : null,
    h("p", { class: "small muted" }, method.instructions),
    methodDetails(method),
    reference ? h("p", { class: "small", style: "margin-top:.6rem" }, `${YOUR_REFERENCE}: `,
      paymentReference(reference)) : null);
}

/** The display name of a method slug among loaded methods ("bank_transfer" -> "Bank transfer (Pakistan, IBFT)"). */
export function methodName(slug, methods = []) {
  return methods.find((method) => method.payment_method === slug)?.display_name ?? humanize(slug);
}

/** A payment's method as the catalog named it when it was confirmed ("JazzCash"), else by its slug. */
export function paymentMethodName(payment, methods = []) {
  return payment.method_name ?? methodName(payment.payment_method, methods);
}

/**
 * Radio cards to choose a payment method, each with its instructions and account details (only its
 * name when `compact`: where the invoice shows how to pay next). `name` is the form field
 * ("payment_method"); `selected` the slug checked first.
 */
export function methodSelector({ methods, name = "payment_method", selected, legend = "Payment method", hint, compact = false }) {
  const errorId = nextId("method-error");
  const checked = methods.some((m) => m.payment_method === selected) ? selected : methods[0]?.payment_method;
  return h("fieldset", { class: "field", dataset: { field: name }, "aria-describedby": errorId },
    h("legend", { class: "legend" }, legend),
    hint ? h("p", { class: "hint" }, hint) : null,
    methods.length === 0 ? h("p", { class: "muted" }, "No payment method is offered for this country.") : null,
    h("div", { class: compact ? "choices methods methods-compact" : "choices methods" }, methods.map((method) => choiceCard({
      name,
      value: method.payment_method,
      checked: method.payment_method === checked,
      title: method.display_name,
      description: compact ? null : [h("p", { class: "small muted", style: "margin:.35rem 0 0" }, method.instructions),
        methodDetails(method)],
    }))),
    h("span", { class: "error", id: errorId }));
}
