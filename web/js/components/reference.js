// The invoice's payment reference (e.g. PR-7K4Q-X9MP), what the payer writes in the transfer's
// description, shown with a button that copies it.
import { h } from "../dom.js";
import { copyButton } from "./copy.js";

/** The reference in a monospace chip, with a "Copy" button. */
export function paymentReference(reference, { copy = true } = {}) {
  if (!reference) return h("span", { class: "muted" }, "—");
  const chip = h("span", { class: "reference", "data-payment-reference": reference }, reference);
  if (!copy) return chip;
  return h("span", { class: "reference-copy" }, chip, copyButton(reference, { target: chip, what: "the reference" }));
}
