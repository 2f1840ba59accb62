// Finding an account (/admin/accounts?q=...): by a user's email, an invoice number, a payment
// reference or the start of its name; each result opens the account's page. The console has the
// same search box.
import { ApiError, api } from "../api.js";
import { badge, countryName, h, humanize } from "../dom.js";
import { clearErrors, field, showErrors, values } from "../forms.js";
import { navigate } from "../router.js";
import { accountLink } from "./admin-account.js";

const MATCHED = {
  name: "Name starts with it", email: "A user's email", invoice_number: "Invoice number",
  payment_reference: "Payment reference",
};

export const accountsPath = (q) => (q ? `/admin/accounts?q=${encodeURIComponent(q)}` : "/admin/accounts");

/** The search box: its submit opens /admin/accounts?q=... (the results page). */
export function accountSearchForm({ q = "", titleId } = {}) {
  const form = h("form", { novalidate: true, class: "inline-form search-form", role: "search",
    "aria-labelledby": titleId, dataset: { accountSearch: "" } },
  field({ label: "Search accounts", name: "q", type: "search", value: q, autocomplete: "off", attrs: { maxlength: 200 },
    hint: "An email, an invoice number (INV-2026-000123), a payment reference (PR-XXXX-XXXX) or the start of a name." }),
  h("button", { class: "btn", type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const text = values(form).q ?? "";
    if (text.length < 2) return showErrors(form, { q: "Type at least 2 characters" });
    return navigate(accountsPath(text));
  });
  return form;
}

/** The console's card: "Find an account". */
export function accountSearchCard() {
  return h("section", { class: "card section-gap", "aria-labelledby": "find-account-title" },
    h("h2", { id: "find-account-title" }, "Find an account"),
    accountSearchForm({ titleId: "find-account-title" }));
}

function resultsTable(items) {
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps", "aria-labelledby": "results-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Account"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Plan"),
      h("th", { scope: "col" }, "Country"), h("th", { scope: "col" }, "Found by"))),
    h("tbody", {}, items.map((account) => h("tr", { dataset: { accountResult: account.id } },
      h("td", { "data-label": "Account" }, h("div", {}, h("strong", {}, accountLink(account.id, account.name)),
        h("div", { class: "small muted mono" }, account.id))),
      h("td", { "data-label": "Status" }, badge(account.status)),
      h("td", { "data-label": "Plan" }, humanize(account.plan)),
      h("td", { "data-label": "Country" }, countryName(account.billing_country)),
      h("td", { "data-label": "Found by" }, h("span", { dataset: { matched: account.matched } },
        MATCHED[account.matched] ?? humanize(account.matched))))))));
}

export async function adminAccountsView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  const q = (ctx.query.get("q") ?? "").trim();
  const form = accountSearchForm({ q, titleId: "accounts-title" });
  let results = null;
  if (q) {
    ctx.loading("Searching…");
    try {
      const found = await api.searchAccounts(q);
      results = h("section", { class: "card section-gap", "aria-labelledby": "results-title", dataset: { results: found.items.length } },
        h("div", { class: "card-head" }, h("h2", { id: "results-title" }, `Accounts for “${q}”`),
          h("span", { class: "muted small" }, found.items.length >= 20 ? "The first 20" : `${found.items.length} found`)),
        found.items.length ? resultsTable(found.items)
          : h("p", { class: "empty" }, "No account matches. A name is found by its start; an email, invoice number or "
            + "payment reference only whole."));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error;
      showErrors(form, { q: error.message });
    }
  }
  ctx.show(q ? `Accounts: ${q}` : "Accounts",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", { id: "accounts-title" }, "Accounts"),
        h("p", {}, "Find an account to see its users, subscription, invoices, payments, credits and history."))),
    h("section", { class: "card" }, form),
    results);
}
