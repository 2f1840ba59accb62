// The admin console's account page: the account, its subscription, its credits as the customer sees
// them (the same statement), and a form to grant credits or correct them, with a reason.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { badge, count, countryName, date, dateTime, h, humanize, money, period, toast } from "../dom.js";
import { busy, choiceCard, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { creditStatement } from "../components/credit-statement.js";

const kv = (pairs) => h("dl", { class: "kv" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
const BUCKET_NAMES = { extra: "extra", allowance: "plan" };

/** The link to an account's page, for the console's lists and the payment page. */
export function accountLink(accountId, name, attrs = {}) {
  if (!accountId) return name ?? "—";
  return h("a", { href: `/admin/accounts/${encodeURIComponent(accountId)}`, ...attrs }, name ?? accountId);
}

function subscriptionCard(sub) {
  if (!sub) return h("section", { class: "card" }, h("h2", {}, "Subscription"), h("p", { class: "muted" }, "No subscription (free trial or never subscribed)."));
  return h("section", { class: "card", dataset: { subscription: sub.status } }, h("h2", {}, "Subscription"), kv([
    ["Plan", humanize(sub.plan)],
    ["Status", badge(sub.status)],
    ["Period", period(sub.current_period_start, sub.current_period_end)],
    sub.cancel_at_period_end ? ["Ends", `At the period end (${date(sub.current_period_end)})`] : null,
    sub.scheduled_plan ? ["Changes to", `${humanize(sub.scheduled_plan)} on ${date(sub.current_period_end)}`] : null,
    sub.next_invoice_at ? ["Next invoice", date(sub.next_invoice_at)] : null,
    sub.renewal_invoice_id ? ["Renewal invoice", h("span", { class: "mono" }, sub.renewal_invoice_id)] : null,
    sub.upgrade_invoice_id ? ["Upgrade invoice", h("span", { class: "mono" }, sub.upgrade_invoice_id)] : null,
    sub.suspends_at ? ["Suspends on", dateTime(sub.suspends_at)] : null,
    sub.cancels_at ? ["Cancelled on", dateTime(sub.cancels_at)] : null,
  ]));
}

/** "Grant or correct credits": add to or take from one bucket, with the reason the customer sees. */
function grantForm(account) {
  const keyFor = idempotencyKeys();
  const submit = h("button", { class: "btn", type: "submit" }, "Add credits");
  const choices = (name, legend, options) => h("fieldset", { class: "field", dataset: { field: name } },
    h("legend", { class: "legend" }, legend),
    h("div", { class: "choices grant-choices" }, options.map(([value, title, description], i) => choiceCard({
      name, value, checked: i === 0, title, description: description ? h("span", { class: "small muted" }, description) : null,
    }))),
    h("span", { class: "error" }));
  const form = h("form", { novalidate: true, "aria-labelledby": "grant-title", dataset: { grant: "" } },
    formAlert(),
    h("div", { class: "form-row" },
      choices("direction", "Change", [["add", "Add", "A grant"], ["take", "Take away", "A correction"]]),
      choices("bucket", "Bucket", [["extra", "Extra credits", "Never expire"], ["allowance", "Plan credits", "Reset at the period's end"]])),
    field({ label: "Credits", name: "amount", inputmode: "numeric", autocomplete: "off", attrs: { maxlength: 10 },
      hint: "A whole number, e.g. 250. A bucket never goes below zero." }),
    field({ label: "Reason", name: "reason", kind: "textarea", attrs: { maxlength: 500 },
      hint: "Required. Kept in the ledger and the audit trail; the customer sees it in their credit history." }),
    h("div", { class: "actions" }, submit));

  const describe = () => {
    const data = values(form);
    const amount = /^\d+$/.test(data.amount ?? "") ? Number(data.amount) : null;
    const what = `${BUCKET_NAMES[data.bucket] ?? ""} credit${amount === 1 ? "" : "s"}`;
    const verb = data.direction === "take" ? "Take away" : "Add";
    submit.textContent = amount ? `${verb} ${count(amount)} ${what}` : `${verb} ${what}`;
  };
  form.addEventListener("input", describe);
  form.addEventListener("change", describe);
  describe();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    const problems = {};
    if (!/^\d+$/.test(data.amount ?? "") || Number(data.amount) < 1 || Number(data.amount) > 1_000_000_000) {
      problems.amount = "Enter a whole number of credits from 1 to 1,000,000,000";
    }
    if (!data.reason) problems.reason = "Give the reason";
    if (Object.keys(problems).length) return showErrors(form, problems);
    const body = { amount: Number(data.amount) * (data.direction === "take" ? -1 : 1), bucket: data.bucket, reason: data.reason };
    try {
      const result = await busy(submit, "Saving…", () => api.grantCredits(account.id, body, keyFor(body)));
      toast(`${body.amount > 0 ? "Added" : "Took away"} ${count(Math.abs(body.amount))} ${BUCKET_NAMES[body.bucket]} credits: `
        + `${result.account.name} now has ${count(result.account.credits)}.`);
      await render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.fieldErrors, error.message);
    }
    return undefined;
  });
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "grant-title" },
    h("h2", { id: "grant-title" }, "Grant or correct credits"),
    h("p", { class: "muted small" }, "For goodwill, a refund in credits or a mistake. Plan credits are replaced "
      + "at the period's end; extra credits stay."),
    form);
}

export async function adminAccountView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const { account, subscription, credits } = await api.adminAccount(ctx.params.id);
  const parts = creditStatement(credits, { account, admin: true });
  ctx.show(account.name,
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, account.name),
        h("p", {}, `${humanize(account.plan)} plan · customer since ${date(account.created_at)}`)),
      h("span", { "data-account-status": account.status }, badge(account.status))),
    h("div", { class: "grid grid-2" },
      h("section", { class: "card" }, h("h2", {}, "Account"), kv([
        ["Status", badge(account.status)],
        ["Plan", humanize(account.plan)],
        ["Billing country", countryName(account.billing_country)],
        account.balance && account.balance !== "0.00"
          ? ["Balance", h("span", { "data-balance": account.balance }, `${money(account.balance, account.balance_currency)} `
            + `${account.balance_currency} (applied to the next invoice)`)] : null,
        account.trial_ends_at ? ["Trial ends", dateTime(account.trial_ends_at)] : null,
        ["Created", dateTime(account.created_at)],
        ["Account ID", h("span", { class: "mono" }, account.id)],
      ])),
      subscriptionCard(subscription)),
    h("h2", { class: "section-title" }, "Credits"),
    parts.balances,
    grantForm(account),
    parts.ledger,
    h("div", { style: "margin-top:1rem" }, parts.usage));
}
