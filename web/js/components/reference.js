// The invoice's payment reference (e.g. PR-7K4Q-X9MP), what the payer writes in the transfer's
// description, shown with a button that copies it; and the hint beside the bank transaction ID
// field when a mistyped payment reference is typed there.
import { h } from "../dom.js";
import { copyButton } from "./copy.js";

// The two references, named apart on every screen: the invoice's code the payer writes in the
// transfer (payment_reference), and the ID the bank or wallet gave the transfer (manual_reference).
export const YOUR_REFERENCE = "Your payment reference (write it in the transfer)";
export const TID = "Bank transaction ID / TID";

/** The reference in a monospace chip, with a "Copy" button. */
export function paymentReference(reference, { copy = true } = {}) {
  if (!reference) return h("span", { class: "muted" }, "—");
  const chip = h("span", { class: "reference", "data-payment-reference": reference }, reference);
  if (!copy) return chip;
  return h("span", { class: "reference-copy" }, chip, copyButton(reference, { target: chip, what: "the reference" }));
}

// What looks like a payment reference in a text (as the API finds one), and how two are compared.
const LOOKS_LIKE = /\bPR[\s-]*[0-9A-Z]{4}[\s-]*[0-9A-Z]{4}\b/g;
const compact = (text) => text.toUpperCase().replace(/[\s\-_.]/g, "");

/** Whether `text` holds a payment reference other than `reference` (a typo of it, most likely). */
export function holdsOtherReference(text, reference) {
  if (!reference) return false;
  return (text.toUpperCase().match(LOOKS_LIKE) ?? []).some((found) => compact(found) !== compact(reference));
}

/**
 * Beside the bank transaction ID field of `form`, inside its group and named by the input's
 * aria-describedby: the payment reference typed there is not this invoice's, and the right one,
 * `reference`; it returns the hint. Without a reference the hint is removed.
 */
export function typoHint(form, reference) {
  const holder = form.querySelector('.field[data-field="manual_reference"]');
  const input = holder.querySelector("input");
  const id = `${input.id}-typo`;
  holder.querySelector("[data-reference-typo]")?.remove();
  const others = (input.getAttribute("aria-describedby") ?? "").split(" ").filter((other) => other && other !== id);
  input.setAttribute("aria-describedby", [...others, ...(reference ? [id] : [])].join(" "));
  if (!reference) return null;
  return holder.appendChild(h("p", { class: "reference-typo", id, dataset: { referenceTypo: reference } },
    "That is not your payment reference: check for a wrong or swapped character. Your payment "
    + "reference is ", h("span", { class: "reference" }, reference), ". Correct it, or enter only "
    + "the bank transaction ID / TID of your transfer."));
}
