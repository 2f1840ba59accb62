// The invoice's payment reference (e.g. PR-7K4Q-X9MP), what the payer writes in the transfer's
// description, shown with a button that copies it.
import { h, toast } from "../dom.js";

/** The reference in a monospace chip, with a "Copy" button. */
export function paymentReference(reference, { copy = true } = {}) {
  if (!reference) return h("span", { class: "muted" }, "—");
  const chip = h("span", { class: "reference", "data-payment-reference": reference }, reference);
  if (!copy) return chip;
  const button = h("button", {
    class: "btn-copy", type: "button", "aria-label": `Copy ${reference}`,
  }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(reference);
      toast(`Copied ${reference}.`);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(chip);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      toast("Select and copy the reference (it is selected).");
    }
  });
  return h("span", { class: "reference-copy" }, chip, button);
}
