// The billing details of an invoice (the API's BillingDetails): the fields, their checks, and the
// request's `billing` object. Used by signup and by choosing a plan later.
import { countryOptions } from "../countries.js";
import { h } from "../dom.js";
import { field } from "../forms.js";

const row = (...fields) => h("div", { class: "form-row" }, fields);

/** The billing fields, named "billing.<field>" so the API's errors land under them. */
export function billingFields() {
  return [
    row(
      field({ label: "Billing name", name: "billing.billing_name", autocomplete: "organization", hint: "The person or company invoiced." }),
      field({ label: "Billing email", name: "billing.billing_email", type: "email", autocomplete: "email", hint: "Where invoices and receipts go." })),
    field({ label: "Address", name: "billing.address_line1", autocomplete: "address-line1" }),
    field({ label: "Address line 2", name: "billing.address_line2", optional: true, autocomplete: "address-line2" }),
    row(
      field({ label: "City", name: "billing.city", autocomplete: "address-level2" }),
      field({ label: "State or province", name: "billing.state", optional: true, autocomplete: "address-level1" })),
    row(
      field({ label: "Postal code", name: "billing.postal_code", optional: true, autocomplete: "postal-code" }),
      field({ label: "Country", name: "billing.country", kind: "select", autocomplete: "country",
        options: [["", "Choose a country…"], ...countryOptions()] })),
    field({ label: "Tax ID", name: "billing.tax_id", optional: true, hint: "VAT, NTN, GSTIN… if you want it on the invoice." }),
  ];
}

/** What is missing in the billing fields of `data` (a form's values), keyed by field name. */
export function billingProblems(data) {
  const problems = {};
  const need = (name, message) => { if (!data[name]) problems[name] = message; };
  need("billing.billing_name", "Enter the name to invoice");
  need("billing.billing_email", "Enter the billing email");
  need("billing.address_line1", "Enter the street address");
  need("billing.city", "Enter the city");
  need("billing.country", "Choose the billing country");
  return problems;
}

/** The request's `billing` object from a form's values ("billing.city" -> {city}). */
export function billingBody(data) {
  const billing = {};
  for (const [name, value] of Object.entries(data)) {
    if (name.startsWith("billing.")) billing[name.slice(8)] = value;
  }
  return billing;
}
