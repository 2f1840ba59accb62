// The payment confirmation modal: method, currency sent, amount (prefilled with what is due in it,
// with the range that counts as paid in full), the bank transaction ID / TID, notes and an optional
// receipt; API errors at the field (a payment reference typed in the TID that is not the invoice's:
// the right one beside it). An amount outside the range asks whether it is a partial payment or an
// overpayment (amount-questions.js) before it is sent again saying so. The receipt is uploaded once the
// confirmation is recorded.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { h, money } from "../dom.js";
import { busy, clearErrors, field, formAlert, setFieldError, showErrors, values } from "../forms.js";
import { fromMinor, leastInFull, normalizeAmount, quoteFor, said, toMinor } from "../amounts.js";
import { amountQuestion, excessOf, rangeText } from "./amount-questions.js";
import { attachProof, checkProofFile, proofErrors, proofField } from "./proof.js";
import { TID, YOUR_REFERENCE, holdsOtherReference, paymentReference, typoHint } from "./reference.js";

const currencyNames = new Intl.DisplayNames(["en"], { type: "currency" });

/** The currencies an invoice can be paid in with a method: its own, and the method's if quoted. */
function currenciesFor(invoice, method) {
  const quote = quoteFor(invoice, method);
  return quote ? [quote.currency, invoice.currency] : [invoice.currency];
}

/** What is due in `currency`: the invoice's amount due, or its quote's. */
function dueIn(invoice, currency) {
  if (currency === invoice.currency) return invoice.amount_due ?? invoice.amount;
  return invoice.quotes.find((quote) => quote.currency === currency).amount_due;
}

/** What an approved payment of each kind of invoice does. */
const OUTCOMES = { renewal: "your plan is renewed", upgrade: "your plan is upgraded", topup: "the credits are added" };

/**
 * Ask the user to confirm a payment of `invoice` made outside the app.
 * Resolves with the created payment, or null if the dialog was closed without submitting.
 */
export function openConfirmModal({ invoice, methods, method, currency: previousCurrency }) {
  return new Promise((resolve) => {
    let created = null;
    const keyFor = idempotencyKeys();
    const submit = h("button", { class: "btn", type: "submit" }, "Submit confirmation");
    const cancel = h("button", { class: "btn btn-secondary", type: "button" }, "Cancel");
    const due = invoice.amount_due ?? invoice.amount;
    const selected = methods.some((m) => m.payment_method === method) ? method : methods[0]?.payment_method;
    const methodOf = (slug) => methods.find((m) => m.payment_method === slug);
    // The range that counts as full, per currency: the default tolerance until the API names its own.
    const ranges = new Map();
    const rangeOf = (slug, currency) => ranges.get(`${slug}|${currency}`) ?? (() => {
      const max = dueIn(invoice, currency);
      return { currency, max, min: fromMinor(leastInFull(toMinor(max))), amount_due: max };
    })();
    const form = h("form", { novalidate: true },
      formAlert(),
      h("p", { class: "small muted", "data-intro": true },
        `Tell us about the payment you made for invoice ${invoice.invoice_number}. An admin checks it against `
        + `the bank or wallet statement, then ${OUTCOMES[invoice.kind] ?? "your plan is activated"}.`),
      invoice.payment_reference ? h("p", { class: "small", "data-intro": true }, `${YOUR_REFERENCE}: `,
        paymentReference(invoice.payment_reference)) : null,
      field({
        label: "Payment method", name: "payment_method", kind: "select", value: selected,
        options: methods.map((m) => [m.payment_method, m.display_name]),
      }),
      field({ label: "Currency sent", name: "currency", kind: "select", options: [], hint: " " }),
      field({ label: "Amount paid", name: "amount", inputmode: "decimal", affix: invoice.currency, hint: " " }),
      field({
        label: TID, name: "manual_reference", autocomplete: "off",
        hint: "The ID your bank or wallet gave the transfer, as on its receipt (or the transfer's "
          + "description, if it holds your payment reference).",
      }),
      field({ label: "Notes", name: "manual_notes", kind: "textarea", optional: true,
        hint: "Anything that helps us find the payment (sender name, date, bank)." }),
      proofField({ optional: true }),
      h("div", { class: "actions end" }, cancel, submit));
    const question = h("div", { hidden: true, "data-amount-question": true });
    const dialog = h("dialog", { "aria-labelledby": "confirm-title", class: "confirm-dialog" },
      h("div", { class: "dialog-head" },
        h("div", {},
          h("h2", { id: "confirm-title" }, "Confirm your payment"),
          h("p", { class: "muted small", style: "margin:0" },
            `${invoice.invoice_number} · ${money(due, invoice.currency)} ${invoice.currency}`)),
        h("button", { class: "close", type: "button", "aria-label": "Close", onclick: () => dialog.close() }, "×")),
      h("div", { class: "dialog-body" }, form, question));

    const methodSelect = form.elements.namedItem("payment_method");
    const currencySelect = form.elements.namedItem("currency");
    const amountInput = form.elements.namedItem("amount");
    const amountHolder = amountInput.closest(".field");
    const showRange = () => {
      const range = rangeOf(methodSelect.value, currencySelect.value);
      const hint = amountHolder.querySelector(".hint");
      hint.textContent = rangeText(range);
      Object.assign(hint.dataset, { min: range.min, max: range.max, currency: range.currency });
    };
    /** The currency choice of the chosen method; the amount prefilled with what is due in the chosen one. */
    const chooseCurrency = (preferred) => {
      const codes = currenciesFor(invoice, methodOf(methodSelect.value));
      const code = codes.includes(preferred) ? preferred : codes[0];
      currencySelect.replaceChildren(...codes.map((c) => h("option", { value: c, selected: c === code },
        `${c} (${currencyNames.of(c)})`)));
      currencySelect.value = code;
      currencySelect.closest(".field").hidden = codes.length < 2;
      const quote = quoteFor(invoice, methodOf(methodSelect.value));
      currencySelect.closest(".field").querySelector(".hint").textContent = quote
        ? `At the rate fixed on this invoice: ${quote.rate} ${quote.currency} per ${invoice.currency}.` : "";
      amountHolder.querySelector(".affix").textContent = code;
      amountInput.value = dueIn(invoice, code);
      showRange();
    };
    methodSelect.addEventListener("change", () => chooseCurrency(null));
    currencySelect.addEventListener("change", () => chooseCurrency(currencySelect.value));
    chooseCurrency(previousCurrency);
    // A payment reference typed in the TID that is not this invoice's: the right one beside it, as typed.
    const tidInput = form.elements.namedItem("manual_reference");
    tidInput.addEventListener("input", () => typoHint(form,
      holdsOtherReference(tidInput.value, invoice.payment_reference) ? invoice.payment_reference : null));

    /** Something typed or chosen that closing would throw away (not once the confirmation is recorded). */
    const filled = () => !created && ["manual_reference", "manual_notes"].some((name) =>
      form.elements.namedItem(name).value.trim()) || (!created && form.elements.namedItem("file").files.length > 0);
    /** Close, asking first when that discards what was typed. */
    const closeAsking = () => {
      if (filled() && !window.confirm("Discard the payment details you entered?")) return;
      dialog.close();
    };
    cancel.addEventListener("click", closeAsking);
    dialog.querySelector(".dialog-head .close").onclick = closeAsking;
    dialog.addEventListener("cancel", (event) => {  // Esc
      event.preventDefault();
      closeAsking();
    });
    // Back or Forward leaves the page the dialog belongs to: it closes with it.
    const onNavigate = () => dialog.close();
    window.addEventListener("popstate", onNavigate);
    dialog.addEventListener("close", () => {
      window.removeEventListener("popstate", onNavigate);
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

    /** The confirmation is recorded: attach its receipt, if one was chosen, and close. */
    const done = (payment, file) => {
      created = payment;
      if (file) return upload(file);
      dialog.close();
      return undefined;
    };

    /** An API error at its field; a mistyped payment reference in the TID gets the right one beside it. */
    const failed = (error) => {
      const typo = error.code === "payment_reference_typo" && invoice.payment_reference;
      const hint = typo ? typoHint(form, typo) : null;
      showErrors(form, error.fieldErrors, typo ? null : error.message);
      hint?.scrollIntoView({ block: "nearest" });
    };

    /** Back from a question to the form, the amount marked with the range that counts as full. */
    const backToForm = (range) => {
      question.hidden = true;
      question.replaceChildren();
      form.hidden = false;
      if (range) {
        setFieldError(form, "amount", range.min === range.max ? `Correct the amount: ${said(range.max, range.currency)} is due`
          : `Correct the amount: ${said(range.min, range.currency)} to ${said(range.max, range.currency)} counts as paid in full`);
        amountInput.focus();
      }
    };

    /** Ask whether an amount outside the range was meant: Yes sends it again saying so. */
    const ask = (kind, body, range, file) => {
      const again = { ...body, [kind]: true };
      question.replaceChildren(amountQuestion({
        kind, invoice, range, amount: body.amount,
        onNo: () => backToForm(range),
        onYes: async (button) => {
          try {
            const payment = await busy(button, "Submitting…", () => api.confirmPayment(again, keyFor(again)));
            done(payment, file);
          } catch (error) {
            if (!(error instanceof ApiError)) throw error;
            backToForm(null);
            failed(error);
          }
        },
      }));
      form.hidden = true;
      question.hidden = false;
      question.querySelector("h3").focus();
    };

    /** A 422 amount_mismatch: the range the API accepts; below it or above it, the question. */
    const mismatch = (error, body, file) => {
      const { min, max, currency } = error.details;
      if (!min || !max) return false;
      const range = { min, max, currency: currency ?? body.currency, amount_due: error.details.amount_due ?? max };
      ranges.set(`${body.payment_method}|${range.currency}`, range);
      showRange();
      const sent = toMinor(body.amount);
      if (sent > 0n && sent < toMinor(min)) ask("partial", body, range, file);
      else if (sent > toMinor(max) && toMinor(excessOf(invoice, range.currency, body.amount)) > 0n) {
        ask("overpayment", body, range, file);
      } else backToForm(range);
      return true;
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
      const amount = normalizeAmount(data.amount);
      if (!data.amount) problems.amount = "Enter the amount you paid";
      else if (amount === null) problems.amount = `Enter the amount as a number, e.g. ${dueIn(invoice, data.currency)}`;
      else if (toMinor(amount) === 0n) problems.amount = "Enter the amount you paid (more than 0)";
      if (!data.manual_reference) problems.manual_reference = "Enter the bank transaction ID / TID of your transfer";
      const fileProblem = file ? checkProofFile(file) : null;
      if (fileProblem) problems.file = fileProblem;
      if (Object.keys(problems).length) return showErrors(form, problems);
      const body = { invoice_id: invoice.id, ...data, amount };
      let payment;
      try {
        payment = await busy(submit, "Submitting…", () => api.confirmPayment(body, keyFor(body)));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.code === "amount_mismatch" && mismatch(error, body, file)) return undefined;
        failed(error);
        return undefined;
      }
      return done(payment, file);
    });

    document.body.append(dialog);
    dialog.showModal();
    form.elements.namedItem(due ? "manual_reference" : "amount").focus();
  });
}
