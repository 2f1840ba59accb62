// Proof of payment (a receipt or screenshot: PNG, JPEG or PDF, at most 5 MB) attached to a payment
// awaiting approval: ask the API for an upload form, send the file to the file store, then complete.
import { ApiError, api, uploadFile } from "../api.js";
import { dateTime, h, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors } from "../forms.js";

export const PROOF_MAX_BYTES = 5 * 1024 * 1024;
const TYPES = { "image/png": "PNG", "image/jpeg": "JPEG", "application/pdf": "PDF" };
const EXTENSIONS = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", pdf: "application/pdf" };
export const PROOF_ACCEPT = "image/png,image/jpeg,application/pdf,.png,.jpg,.jpeg,.pdf";
export const PROOF_HINT = "A PNG, JPEG or PDF of the receipt or the app's confirmation screen, at most 5 MB.";

/** The accepted content type of a chosen file (from the browser's type, else its extension), or null. */
function proofType(file) {
  if (file.type in TYPES) return file.type;
  if (file.type) return null;
  return EXTENSIONS[file.name.split(".").pop()?.toLowerCase()] ?? null;
}

/** What is wrong with a chosen file before sending it (the API checks its content after), or null. */
export function checkProofFile(file) {
  if (!file) return "Choose a file";
  if (!proofType(file)) return "Choose a PNG, JPEG or PDF file";
  if (file.size === 0) return "The file is empty";
  if (file.size > PROOF_MAX_BYTES) return "The file is larger than 5 MB; choose a smaller one";
  return null;
}

/** Upload `file` as the proof of `paymentId`; resolves with the payment (its `proof` set). */
export async function attachProof(paymentId, file) {
  const problem = checkProofFile(file);
  if (problem) throw new ApiError(0, "proof_invalid_file", `${problem}.`, { fields: { file: problem } });
  const form = await api.startProofUpload(paymentId, proofType(file));
  await uploadFile(form.upload, file);
  return api.completeProofUpload(paymentId);
}

/** The API's refusal of a proof as field errors of the file input. */
export function proofErrors(error) {
  const fields = { ...error.fieldErrors };
  if (!fields.file) {
    fields.file = {
      proof_not_uploaded: "The file did not arrive; choose it again",
      proof_already_attached: "A receipt is already attached to this payment",
      payment_not_pending: "The payment has been decided; no receipt is needed",
    }[error.code] ?? "The receipt was not attached";
  }
  return fields;
}

/** "image/png", 48213 -> "PNG, 47 KB". */
export function proofSummary(proof) {
  const kb = Math.max(1, Math.round(proof.size / 1024));
  const size = kb >= 1024 ? `${(kb / 1024).toFixed(1)} MB` : `${kb} KB`;
  return `${TYPES[proof.content_type] ?? proof.content_type}, ${size}`;
}

/** "Receipt attached" with what and when, for a payment that has a proof. */
export function receiptAttached(payment, { long = false } = {}) {
  if (!payment?.proof) return null;
  return h("span", { class: long ? "badge badge-success badge-wrap" : "badge badge-success", "data-proof": "attached" }, "Receipt attached",
    long ? h("span", { class: "badge-note" }, ` · ${proofSummary(payment.proof)}, ${dateTime(payment.proof.uploaded_at)}`) : null);
}

/** The file input of a receipt, named `file` (the API's field of proof errors). */
export function proofField({ optional = false } = {}) {
  const holder = field({
    label: "Receipt or screenshot", name: "file", type: "file", optional, hint: PROOF_HINT,
    attrs: { accept: PROOF_ACCEPT },
  });
  // The file is checked as soon as it is chosen: a good one clears the error a bad one left.
  const input = holder.querySelector("input");
  input.addEventListener("change", () => {
    const file = input.files[0];
    const problem = file ? checkProofFile(file) : null;
    const error = holder.querySelector(".error");
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      if (error) error.textContent = `${problem}.`;
    } else {
      input.removeAttribute("aria-invalid");
      if (error) error.textContent = "";
    }
  });
  return holder;
}

/**
 * A small form to attach a receipt to a payment awaiting approval that has none.
 * `onAttached(payment)` runs once it is attached.
 */
export function attachProofForm(payment, onAttached) {
  const submit = h("button", { class: "btn btn-secondary", type: "submit" }, "Attach receipt");
  const form = h("form", { class: "attach-proof", novalidate: true, "aria-label": "Attach a receipt", dataset: { attachProof: payment.id } },
    formAlert(),
    proofField(),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const file = form.elements.namedItem("file").files[0];
    const problem = checkProofFile(file);
    if (problem) return showErrors(form, { file: problem });
    try {
      const updated = await busy(submit, "Uploading…", () => attachProof(payment.id, file));
      toast("Receipt attached. The admin sees it when checking your payment.");
      await onAttached?.(updated);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      form.elements.namedItem("file").value = "";
      showErrors(form, proofErrors(error), error.message);
    }
    return undefined;
  });
  return form;
}
