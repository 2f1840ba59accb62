// A "Copy" button that puts a value on the clipboard (the payment reference, an IBAN, an account
// number ...); where the browser refuses, it selects the value's element for the user to copy.
import { h, toast } from "../dom.js";

/**
 * A button that copies `value`; `name` its accessible name ("Copy IBAN"), `target` the element
 * that shows the value (selected when the clipboard is refused), `what` what it is, for that toast.
 */
export function copyButton(value, { name = `Copy ${value}`, target, what = "it" } = {}) {
  const button = h("button", { class: "btn-copy", type: "button", "aria-label": name }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      toast(`Copied ${value}.`);
    } catch {
      if (target) {
        const range = document.createRange();
        range.selectNodeContents(target);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
      }
      toast(`Select and copy ${what} (it is selected).`);
    }
  });
  return button;
}
