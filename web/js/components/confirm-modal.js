// The payment confirmation modal: method, amount (prefilled), reference, notes and an optional
// receipt; API errors at the field. The receipt is uploaded once the confirmation is recorded.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { h, money } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { attachProof, checkProofFile, proofErrors, proofField } from "./proof.js";
import { paymentReference } from "./reference.js";

/** What an approved payment of each kind of invoice does. */
const OUTCOMES = { renewal: "your plan is renewed", upgrade: "your plan is upgraded", topup: "the credits are added" };

/**
 * Ask the user to confirm a payment of `invoice` made outside the app.
 * Resolves with the created payment, or null if the dialog was closed without submitting.
 */
export function openConfirmModal({ invoice, methods, method }) {
  return new Promise((resolve) => {
    let created = null;
    const keyFor = idempotencyKeys();
    const submit = h("button", { class: "btn", type: "submit" }, "Submit confirmation");
    const cancel = h("button", { class: "btn btn-secondary", type: "button" }, "Cancel");
    const due = invoice.amount_due ?? invoice.amount;
    const selected = methods.some((m) => m.payment_method === method) ? method : methods[0]?.payment_method;
    const form = h("form", { novalidate: true },
      formAlert(),
      h("p", { class: "small muted", "data-intro": true },
        `Tell us about the payment you made for invoice ${invoice.invoice_number}. An admin checks it against `
        + `the bank or wallet statement, then ${OUTCOMES[invoice.kind] ?? "your plan is activated"}.`),
      invoice.payment_reference ? h("p", { class: "small", "data-intro": true }, "The payment reference to write in the transfer's description: ",
        paymentReference(invoice.payment_reference)) : null,
      field({
        label: "Payment method", name: "payment_method", kind: "select", value: selected,
        options: methods.map((m) => [m.payment_method, m.display_name]),
      }),
      field({
        label: "Amount paid", name: "amount", value: due, inputmode: "decimal", affix: invoice.currency,
        hint: due === invoice.amount ? `The invoice amount: ${money(invoice.amount, invoice.currency)} ${invoice.currency}.`
          : `Still to pay on this invoice: ${money(due, invoice.currency)} ${invoice.currency}.`,
      }),
      field({
        label: "Payment reference", name: "manual_reference", autocomplete: "off",
        hint: "The transaction ID, TID or bank reference of your transfer (or its description, "
          + "if it holds the payment reference).",
      }),
      field({ label: "Notes", name: "manual_notes", kind: "textarea", optional: true,
        hint: "Anything that helps us find the payment (sender name, date, bank)." }),
      proofField({ optional: true }),
      h("div", { class: "actions end" }, cancel, submit));
    const dialog = h("dialog", { "aria-labelledby": "confirm-title", class: "confirm-dialog" },
      h("div", { class: "dialog-head" },
        h("div", {},
          h("h2", { id: "confirm-title" }, "Confirm your payment"),
          h("p", { class: "muted small", style: "margin:0" },
            `${invoice.invoice_number} · ${money(due, invoice.currency)} ${invoice.currency}`)),
        h("button", { class: "close", type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
      h("div", { class: "dialog-body" }, form));

    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(created);
    });
    const fileInput = form.elements.namedItem("file");

    /** The confirmation is recorded but its receipt was refused: from now on the form only attaches one. */
    const receiptOnly = (error) => {
      for (const intro of form.querySelectorAll("[data-intro]")) intro.hidden = true;
      for (const holder of form.querySelectorAll(".field:not([data-field=file])")) {
        holder.hidden = true;
        holder.querySelector("input, select, textarea").disabled = true;
      }
      submit.textContent = "Attach receipt";
      cancel.textContent = "Close — attach it later";
      fileInput.value = "";
      showErrors(form, proofErrors(error),
        `Your payment confirmation was submitted, but the receipt was not attached: ${error.message} `
        + "Choose another file, or close and attach it later.");
    };

    const upload = async (file) => {
      try {
        created = await busy(submit, "Uploading the receipt…", () => attachProof(created.id, file));
        dialog.close();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        receiptOnly(error);
      }
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const file = fileInput.files[0] ?? null;
      if (created) {
        const problem = checkProofFile(file);
        return problem ? showErrors(form, { file: problem }) : upload(file);
      }
      const data = values(form);
      const problems = {};
      if (!data.amount) problems.amount = "Enter the amount you paid";
      if (!data.manual_reference) problems.manual_reference = "Enter the reference of your payment";
      const fileProblem = file ? checkProofFile(file) : null;
      if (fileProblem) problems.file = fileProblem;
      if (Object.keys(problems).length) return showErrors(form, problems);
      try {
        const body = { invoice_id: invoice.id, ...data };
        created = await busy(submit, "Submitting…", () => api.confirmPayment(body, keyFor(body)));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const fields = { ...error.fieldErrors };
        if (fields.amount && error.details.expected) {
          fields.amount = `${fields.amount} (${error.details.expected} ${error.details.currency ?? ""})`.replace(" )", ")");
        }
        showErrors(form, fields, error.message);
        return undefined;
      }
      if (file) return upload(file);
      dialog.close();
      return undefined;
    });

    document.body.append(dialog);
    dialog.showModal();
    form.elements.namedItem(due ? "manual_reference" : "amount").focus();
  });
}
