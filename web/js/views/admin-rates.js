// The admin console's exchange rates: units of each payment method's currency per 1 USD, with who
// changed them when, and a form to set one. New invoices are quoted at them; issued ones keep theirs.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { dateTime, h, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { OWNER, can, roleNote } from "../roles.js";

const currencyNames = new Intl.DisplayNames(["en"], { type: "currency" });
const nameOf = (code) => `${code} (${currencyNames.of(code)})`;
let lastSet = null; // the currency of the last rate set here, chosen again when the page is redrawn

function ratesTable(list) {
  const current = new Map(list.items.map((rate) => [rate.currency, rate]));
  const codes = [...new Set([...list.currencies, ...current.keys()])].sort();
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive", "aria-labelledby": "rates-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Currency"), h("th", { scope: "col", class: "num" }, `Per 1 ${list.base}`),
      h("th", { scope: "col" }, "Last changed"), h("th", { scope: "col" }, "Before"))),
    h("tbody", {}, codes.map((code) => {
      const rate = current.get(code);
      const last = rate?.history?.[0];
      return h("tr", { dataset: { rate: code } },
        h("td", { "data-label": "Currency" }, h("strong", {}, code), h("div", { class: "small muted" }, currencyNames.of(code))),
        h("td", { "data-label": `Per 1 ${list.base}`, class: "num" }, rate
          ? h("span", { dataset: { value: rate.rate } }, rate.rate) : h("span", { class: "muted" }, "Not set")),
        h("td", { "data-label": "Last changed" }, rate
          ? [dateTime(rate.updated_at), h("div", { class: "small muted" }, `by ${rate.updated_by}`)]
          : h("span", { class: "muted small" }, "Invoices are not quoted in it")),
        h("td", { "data-label": "Before" }, last?.old_rate ?? h("span", { class: "muted" }, "—")));
    }))));
}

function changesTable(list) {
  const changes = list.items.flatMap((rate) => (rate.history ?? []).map((change) => ({ ...change, currency: rate.currency })))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  if (!changes.length) return h("p", { class: "empty" }, "No changes yet.");
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive", "aria-labelledby": "changes-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Currency"), h("th", { scope: "col", class: "num" }, "From"),
      h("th", { scope: "col", class: "num" }, "To"), h("th", { scope: "col" }, "By"))),
    h("tbody", {}, changes.map((change) => h("tr", { dataset: { change: change.currency } },
      h("td", { "data-label": "When" }, dateTime(change.at)),
      h("td", { "data-label": "Currency" }, change.currency),
      h("td", { "data-label": "From", class: "num" }, change.old_rate ?? "—"),
      h("td", { "data-label": "To", class: "num" }, change.new_rate),
      h("td", { "data-label": "By" }, change.by))))));
}

/** "Set a rate": a currency, its rate per 1 USD; the API's refusal under the field it is about. */
function rateForm(list) {
  const keyFor = idempotencyKeys();
  const current = new Map(list.items.map((rate) => [rate.currency, rate.rate]));
  const first = list.currencies.includes(lastSet) ? lastSet : list.currencies[0];
  const submit = h("button", { class: "btn", type: "submit" }, "Set rate");
  const form = h("form", { novalidate: true, class: "inline-form rate-form", "aria-labelledby": "set-rate-title" },
    formAlert(),
    field({ label: "Currency", name: "currency", kind: "select", value: first,
      options: list.currencies.map((code) => [code, nameOf(code)]) }),
    field({ label: "Rate", name: "rate", inputmode: "decimal", autocomplete: "off", value: current.get(first) ?? "",
      affix: `per 1 ${list.base}`, hint: `Units of the currency for 1 ${list.base}, up to 6 decimals, e.g. 280.50.` }),
    h("div", { class: "actions" }, submit));
  const currency = form.elements.namedItem("currency");
  const rate = form.elements.namedItem("rate");
  currency.addEventListener("change", () => {
    clearErrors(form);
    rate.value = current.get(currency.value) ?? "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    if (!data.rate) return showErrors(form, { rate: "Enter the rate" });
    try {
      const set = await busy(submit, "Saving…", () => api.setFxRate(data.currency, data.rate, keyFor(data)));
      const before = set.history?.[0]?.old_rate;
      lastSet = set.currency;
      toast(`${set.currency} is now ${set.rate} per ${set.base}${before ? ` (was ${before})` : ""}. New invoices are quoted at it.`);
      await render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = error.code === "currency_not_supported" ? { currency: error.message } : error.fieldErrors;
      showErrors(form, fields, Object.keys(fields).length ? null : error.message);
    }
    return undefined;
  });
  return form;
}

export async function adminRatesView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const list = await api.fxRates();
  ctx.show("Exchange rates",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Exchange rates"),
        h("p", {}, `Units of each payment method's currency per 1 ${list.base}. A new invoice is quoted at these rates `
          + "in its country's currencies, and its payers are told the exact amount to send; an issued invoice keeps "
          + "the rate fixed on it."))),
    can(OWNER) ? h("section", { class: "card", "aria-labelledby": "set-rate-title" },
      h("h2", { id: "set-rate-title" }, "Set a rate"), rateForm(list))
      : h("section", { class: "card", dataset: { ratesReadOnly: "" } }, roleNote("Owners set the exchange rates.", OWNER)),
    h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "rates-title" },
      h("h2", { id: "rates-title" }, "Current rates"), ratesTable(list)),
    h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "changes-title" },
      h("div", { class: "card-head" }, h("h2", { id: "changes-title" }, "Recent changes"),
        h("span", { class: "muted small" }, "Newest first")),
      changesTable(list)));
}
