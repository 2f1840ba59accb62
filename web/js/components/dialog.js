// A confirmation step in a modal dialog: what will happen, a button that does it, and the API's
// refusal shown inside the dialog (it stays open so the user can read it or try again).
import { ApiError } from "../api.js";
import { h, nextId } from "../dom.js";
import { busy, formAlert } from "../forms.js";

/** What `onConfirm` returns to keep the dialog open (it showed a problem in the form itself). */
export const STAY = Symbol("stay");

/**
 * Ask before doing something. `onConfirm(form)` runs on the confirm button; its result resolves the
 * promise and closes the dialog (unless it is STAY). Closing without confirming resolves null.
 */
export function confirmDialog({ title, subtitle, body, confirmLabel, busyLabel = "Working…", dismissLabel = "Cancel",
  tone = "primary", name, onConfirm }) {
  return new Promise((resolve) => {
    let result = null;
    const titleId = nextId("dialog-title");
    const alert = formAlert();
    const confirm = h("button", { class: tone === "danger" ? "btn btn-danger" : "btn", type: "submit" }, confirmLabel);
    const dismiss = h("button", { class: "btn btn-secondary", type: "button" }, dismissLabel);
    const form = h("form", { novalidate: true, method: "dialog" }, alert, body,
      h("div", { class: "actions end" }, dismiss, confirm));
    const dialog = h("dialog", { "aria-labelledby": titleId, dataset: { dialog: name } },
      h("div", { class: "dialog-head" },
        h("div", {},
          h("h2", { id: titleId }, title),
          subtitle ? h("p", { class: "muted small", style: "margin:0" }, subtitle) : null),
        h("button", { class: "close", type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
      h("div", { class: "dialog-body" }, form));
    dismiss.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      alert.textContent = "";
      let outcome;
      try {
        outcome = await busy(confirm, busyLabel, () => onConfirm(form));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        alert.textContent = error.message;
        return;
      }
      if (outcome === STAY) return;
      result = outcome;
      dialog.close();
    });
    document.body.append(dialog);
    dialog.showModal();
    confirm.focus();
  });
}
