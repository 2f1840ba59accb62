// Accessible form fields (label, hint, error wired with aria-describedby) and API errors at the field.
import { h, nextId } from "./dom.js";

/**
 * A labelled field. `name` is the API's field path ("billing.country"), so an API error for that
 * path lands under this input. kind: "input" (default), "select", "textarea".
 */
export function field({ label, name, type = "text", value = "", hint, optional = false, kind = "input",
  options = [], autocomplete, inputmode, affix, attrs = {} }) {
  const id = nextId(name.replace(/\W/g, "-"));
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  const common = { id, name, "aria-describedby": describedBy, autocomplete, inputmode, ...attrs };
  let control;
  if (kind === "select") {
    control = h("select", common, options.map(([optionValue, text]) =>
      h("option", { value: optionValue, selected: optionValue === value }, text)));
  } else if (kind === "textarea") {
    control = h("textarea", { rows: 3, ...common }, value);
  } else {
    control = h("input", { type, value, ...common });
  }
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, label, optional ? h("span", { class: "optional" }, " (optional)") : null),
    hint ? h("span", { class: "hint", id: hintId }, hint) : null,
    affix ? h("div", { class: "input-affix" }, control, h("span", { class: "affix", "aria-hidden": "true" }, affix))
      : control,
    h("span", { class: "error", id: errorId }));
}

/** A form-level alert (role=alert so it is announced when filled). */
export function formAlert() {
  return h("div", { class: "alert alert-danger", role: "alert", "data-form-alert": true });
}

/** Remove every error shown in the form. */
export function clearErrors(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const error of form.querySelectorAll(".field .error")) error.textContent = "";
  const alert = form.querySelector("[data-form-alert]");
  if (alert) alert.textContent = "";
}

/** Show a message under the field `name`; false if the form has no such field. */
export function setFieldError(form, name, message) {
  const holder = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!holder) return false;
  const control = holder.querySelector("input, select, textarea");
  control?.setAttribute("aria-invalid", "true");
  holder.querySelector(".error").textContent = sentence(name, message);
  return true;
}

/** "must equal the invoice amount" -> "Must equal the invoice amount." */
function sentence(name, message) {
  const text = String(message);
  // A code at the start ("pr-sjwx-ns2d is not…", "pay_…") keeps its letters as they are.
  const capitalised = /^[a-z]+(?![\w-])/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

/**
 * Show field errors under their fields and the rest in the form's alert; focus the first bad field.
 * Returns the names of the fields that got an error.
 */
export function showErrors(form, fieldErrors, message) {
  const shown = [];
  const unplaced = [];
  for (const [name, text] of Object.entries(fieldErrors ?? {})) {
    if (setFieldError(form, name, text)) shown.push(name);
    else unplaced.push(`${name} ${text}`);
  }
  const alert = form.querySelector("[data-form-alert]");
  if (alert && (message || unplaced.length)) {
    alert.textContent = [message, ...unplaced].filter(Boolean).join(" ");
  }
  const first = form.querySelector("[aria-invalid='true']");
  if (first && !first.closest("[hidden]")) first.focus();
  else if (alert?.textContent) alert.scrollIntoView({ block: "nearest" });
  return shown;
}

/** The form's named values as an object, trimmed (passwords as typed); empty strings and files left out. */
export function values(form) {
  const out = {};
  for (const [name, raw] of new FormData(form).entries()) {
    if (typeof raw !== "string") continue;
    const isPassword = form.elements.namedItem(name)?.type === "password";
    const text = isPassword ? String(raw) : String(raw).trim();
    if (text !== "") out[name] = text;
  }
  return out;
}

/** Disable the submit button while `work` runs. */
export async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = original;
  }
}

/**
 * A radio button drawn as a card. The label holds the short title (the radio's accessible name),
 * the rest describes it (aria-describedby); a click anywhere on the card chooses it.
 */
export function choiceCard({ name, value, checked = false, title, aside, description }) {
  const id = nextId(`${name}-${value}`);
  const descriptionId = description ? `${id}-desc` : null;
  const input = h("input", { type: "radio", name, id, value, checked, "aria-describedby": descriptionId });
  return h("div", { class: "choice", dataset: { value } },
    input,
    h("div", {
      class: "choice-body",
      onclick: (event) => {
        if (event.target.closest("label, a, button") || input.checked) return;
        input.checked = true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        input.focus();
      },
    },
    h("label", { for: id, class: "choice-title" },
      h("span", {}, title, aside ? [" ", aside] : null),
      h("span", { class: "check", "aria-hidden": "true" })),
    description ? h("div", { id: descriptionId }, description) : null));
}
