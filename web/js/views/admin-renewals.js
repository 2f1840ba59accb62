// The admin console's lifecycle parts: accounts counted by state, and the unpaid renewal invoices
// (soonest due first) with their subscription's state and whether a payment awaits approval.
import { api } from "../api.js";
import { badge, count, date, h, humanize, money } from "../dom.js";
import { busy } from "../forms.js";
import { accountLink } from "./admin-account.js";

export const ACCOUNT_STATES = ["trial", "pending_payment", "active", "past_due", "suspended", "expired", "cancelled"];

/** Every account state with its count, as badges ("Past due 2"), in the order of a life. */
export function accountStates(accounts) {
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "states-title", dataset: { accountStates: "" } },
    h("h2", { id: "states-title" }, "Accounts by state"),
    h("ul", { class: "state-counts" }, ACCOUNT_STATES.map((state) => h("li", { dataset: { state } },
      badge(state), h("strong", { class: "state-count" }, count(accounts[state] ?? 0))))));
}

/** Whether a payment of the renewal awaits approval (`payment_pending`; it is in the approval queue). */
function awaiting(item) {
  const pending = item.payment_pending === true || item.latest_payment?.status === "pending_approval";
  if (!pending) return h("span", { class: "muted", "data-awaiting": "false" }, "None yet");
  return h("span", { class: "badge badge-info", "data-awaiting": "true" }, "Awaiting approval");
}

function rows(items) {
  return items.map((item) => h("tr", { dataset: { renewal: item.id } },
    h("td", { "data-label": "Invoice" }, h("div", {}, h("span", { class: "mono" }, item.invoice_number),
      item.payment_reference ? h("div", { class: "small muted mono" }, item.payment_reference) : null)),
    h("td", { "data-label": "Account" }, accountLink(item.account_id, item.account?.name)),
    h("td", { "data-label": "Plan" }, humanize(item.subscription?.plan ?? item.plan)),
    h("td", { "data-label": "Amount", class: "num" },
      `${money(item.amount_due ?? item.amount, item.currency)} ${item.currency}`),
    h("td", { "data-label": "Due" }, date(item.due_date)),
    h("td", { "data-label": "Subscription" }, item.subscription ? badge(item.subscription.status) : "—"),
    h("td", { "data-label": "Payment" }, awaiting(item))));
}

/** The "Renewals" section: the first page, and "Load more" for the next (next_cursor). */
export function renewalsSection(first) {
  if (first.error) {
    return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "renewals-title", id: "renewals" },
      h("h2", { id: "renewals-title" }, "Renewals"),
      h("p", { class: "alert alert-danger", role: "alert" }, `The renewals could not be loaded: ${first.error.message}`));
  }
  const body = h("tbody", {}, rows(first.items));
  let cursor = first.next_cursor;
  const more = h("button", { class: "btn btn-secondary", type: "button", hidden: !cursor }, "Load more");
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.renewals(cursor));
    body.append(...rows(page.items));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "renewals-title", id: "renewals" },
    h("div", { class: "card-head" },
      h("h2", { id: "renewals-title" }, "Renewals"),
      h("span", { class: "muted small" }, "Unpaid renewal invoices, soonest due first")),
    first.items.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "responsive", "aria-labelledby": "renewals-title" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Invoice"), h("th", { scope: "col" }, "Account"), h("th", { scope: "col" }, "Plan"),
          h("th", { scope: "col", class: "num" }, "Amount"), h("th", { scope: "col" }, "Due"),
          h("th", { scope: "col" }, "Subscription"), h("th", { scope: "col" }, "Payment"))),
        body))
      : h("p", { class: "empty" }, "No renewal invoice is unpaid."),
    h("div", { class: "actions" }, more));
}
