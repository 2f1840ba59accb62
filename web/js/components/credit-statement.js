// An account's credits as the customer and the admin see them (GET /billing/credits, or `credits` of
// GET /billing/admin/accounts/{id}): the two buckets and when the plan's credits reset, the use per
// day, and the ledger newest first with the balance after each entry.
import { count, date, dateTime, h, humanize } from "../dom.js";
import { busy } from "../forms.js";
import { usageCard } from "./usage-chart.js";

const BUCKETS = { allowance: "Plan", extra: "Extra", both: "Plan + extra" };

/** "+1,000" or "−12" (a real minus sign). */
export function signed(amount) {
  return amount > 0 ? `+${count(amount)}` : amount < 0 ? `−${count(-amount)}` : "0";
}

/**
 * What a ledger entry was, in words: {label, detail?, link?}. `admin` words the admin's own entries
 * for the console; `invoiceLinks` links a top-up to its invoice (the customer's invoice page);
 * `known` (entries by id) names the use a release gave back, once that use is loaded.
 */
export function entryText(entry, { admin = false, invoiceLinks = false, known = new Map() } = {}) {
  const reason = entry.reference ? `“${entry.reference}”` : null;
  switch (entry.reason) {
    case "consumed": return { label: entry.reference || "Credits used" };
    case "released": {
      const use = known.get(entry.reference);
      return { label: use ? `Given back: ${use.reference || "credits used"}` : "Use given back" };
    }
    case "trial_grant": return { label: "Free trial credits" };
    case "trial_expired": return { label: "Unused trial credits expired" };
    case "trial_carried_over": return entry.amount < 0
      ? { label: "Trial credits moved to extra credits" } : { label: "Trial credits kept as extra credits" };
    case "plan_purchase": return { label: "Plan credits for the first period" };
    case "allowance_granted": return { label: "Plan credits for the new period" };
    case "allowance_expired": return { label: "Unused plan credits expired" };
    case "upgrade_granted": return { label: "Plan credits added by the upgrade" };
    case "topup": return {
      label: `Top-up: ${count(entry.amount)} extra credits`,
      link: invoiceLinks && entry.reference ? `/billing/invoices/${encodeURIComponent(entry.reference)}` : null,
    };
    case "admin_grant": return { label: admin ? "Granted by an admin" : "Added by our team", detail: reason };
    case "admin_correction": return { label: admin ? "Corrected by an admin" : "Corrected by our team", detail: reason };
    default: return { label: humanize(entry.reason), detail: reason };
  }
}

function entryRow(entry, options) {
  const { label, detail, link } = entryText(entry, options);
  const unnamed = entry.reason === "released" && !options.known.has(entry.reference);
  const bucket = BUCKETS[entry.bucket] ?? humanize(entry.bucket);
  return h("tr", { dataset: { entry: entry.id, reason: entry.reason, releaseOf: unnamed ? entry.reference : null } },
    h("td", { "data-label": "When", class: "entry-when", dataset: { bucketLabel: bucket } }, dateTime(entry.created_at)),
    h("td", { "data-label": "What", class: "entry-what" },
      h("span", { "data-entry-label": true }, label),
      detail ? h("div", { class: "small muted", "data-entry-detail": true }, detail) : null,
      link ? h("div", { class: "small" }, h("a", { href: link }, "View invoice")) : null),
    h("td", { "data-label": "Bucket", class: "entry-bucket" }, bucket),
    h("td", { "data-label": "Change", class: `num entry-change ${entry.amount < 0 ? "delta-down" : "delta-up"}`, dataset: { amount: entry.amount } },
      signed(entry.amount)),
    h("td", { "data-label": "Balance after", class: "num entry-balance", dataset: { balanceAfter: entry.balance_after ?? "" } },
      entry.balance_after == null ? "—" : count(entry.balance_after)));
}

/** What the plan's credits are and when they reset, by the account's state. */
function allowanceNote(statement, status) {
  const expires = statement.allowance_expires_at;
  if (status === "trial") return expires ? `Trial credits, usable until ${date(expires)}.` : "Trial credits.";
  if (expires) return [`Reset on `, h("strong", { "data-resets": expires }, date(expires)),
    ": unused plan credits expire and the next period's are added."];
  switch (status) {
    case "past_due": return "The new period's plan credits come when its renewal is paid.";
    case "suspended": return "Not usable while the account is suspended.";
    case "pending_payment": return "They come when the plan's payment is approved.";
    default: return "No plan is running.";
  }
}

/** The totals: all credits, the plan's (allowance) and extra. */
export function balanceCards(statement, account) {
  const buckets = statement.credit_buckets ?? { allowance: 0, extra: 0 };
  const card = (key, label, value, sub) => h("section", { class: "card metric", "aria-labelledby": `balance-${key}`, dataset: { balance: key } },
    h("h2", { class: "label", id: `balance-${key}` }, label),
    h("div", { class: "value", dataset: { value } }, count(value)),
    h("p", { class: "sub" }, sub));
  return h("div", { class: "grid grid-3 credit-balances" },
    card("total", "All credits", statement.credits,
      account.status === "suspended" ? "Not usable until the account is reactivated." : "Plan credits are used first, then extra credits."),
    card("allowance", "Plan credits", buckets.allowance, allowanceNote(statement, account.status)),
    card("extra", "Extra credits", buckets.extra, "Top-ups, kept trial credits and grants. They never expire."));
}

/**
 * The ledger, newest first. `loadMore(cursor)` fetches the next page ("Load more"); without it, the
 * first page is all there is to show, and the card says so when there are more.
 */
export function ledgerCard(first, { loadMore = null, title = "Credit history", ...rest } = {}) {
  const options = { ...rest, known: new Map() };
  const rows = (items) => {
    for (const entry of items) options.known.set(entry.id, entry);
    return items.map((entry) => entryRow(entry, options));
  };
  const body = h("tbody", {}, rows(first.items));
  let cursor = first.next_cursor;
  const more = h("button", { class: "btn btn-secondary", type: "button", "data-load-more": true }, "Load more");
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => loadMore(cursor));
    body.append(...rows(page.items));
    // A release shown before the use it gave back was loaded: name that use now.
    for (const row of body.querySelectorAll("tr[data-release-of]")) {
      if (!options.known.has(row.dataset.releaseOf)) continue;
      row.querySelector("[data-entry-label]").textContent = entryText(options.known.get(row.dataset.entry), options).label;
      delete row.dataset.releaseOf;
    }
    cursor = page.next_cursor;
    actions.hidden = !cursor;
  });
  const actions = h("div", { class: "actions", hidden: !(cursor && loadMore) }, more);
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "ledger-title", dataset: { ledger: "" } },
    h("div", { class: "card-head" },
      h("h2", { id: "ledger-title" }, title),
      h("span", { class: "muted small" }, "Newest first, with the balance after each entry")),
    first.items.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "responsive ledger", "aria-labelledby": "ledger-title" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Bucket"),
          h("th", { scope: "col", class: "num" }, "Change"), h("th", { scope: "col", class: "num" }, "Balance after"))),
        body))
      : h("p", { class: "empty" }, "No credits yet."),
    cursor && !loadMore ? h("p", { class: "small muted" }, `The latest ${count(first.items.length)} entries.`) : null,
    actions);
}

/** The parts of a statement, to place on a screen: {balances, usage, ledger}. */
export function creditStatement(statement, { account, loadMore, admin = false, invoiceLinks = false }) {
  return {
    balances: balanceCards(statement, account),
    usage: usageCard(statement.usage, { trial: account.status === "trial" }),
    ledger: ledgerCard(statement, { loadMore, admin, invoiceLinks }),
  };
}
