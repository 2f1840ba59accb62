// The admin console's account page: the account and its hold (an owner suspends and reactivates it,
// with a reason), its subscription, users, invoices and payments, its credits as the customer sees
// them (the same statement) with a form to grant credits or correct them, and its history.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { age, badge, count, countryName, date, dateTime, h, humanize, money, period, toast } from "../dom.js";
import { busy, choiceCard, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { said } from "../amounts.js";
import { creditStatement } from "../components/credit-statement.js";
import { confirmDialog, STAY } from "../components/dialog.js";
import { historyList } from "../components/history.js";
import { approvalsNote } from "../components/approvals.js";
import { paymentMethodName } from "../components/methods.js";
import { invoiceLabel } from "../components/pending-banner.js";
import { TID } from "../components/reference.js";
import { OWNER, ROLE_NAMES, can, gate, roleNote } from "../roles.js";

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

const table = (titleId, heads, body) => h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps", "aria-labelledby": titleId },
  h("thead", {}, h("tr", {}, heads.map(([text, className]) => h("th", { scope: "col", class: className }, text)))),
  h("tbody", {}, body)));

function usersCard(users) {
  return h("section", { class: "card section-gap", "aria-labelledby": "users-title", dataset: { users: users.length } },
    h("h2", { id: "users-title" }, "Users"),
    users.length ? table("users-title", [["Name"], ["Email"], ["Role"], ["Since"]], users.map((user) => h("tr", { dataset: { user: user.email } },
      h("td", { "data-label": "Name" }, user.name || "—"),
      h("td", { "data-label": "Email" }, h("span", { class: "wrap-anywhere" }, user.email)),
      h("td", { "data-label": "Role" }, user.role === "admin" ? `Admin (${ROLE_NAMES[user.admin_role] ?? user.admin_role})` : "Customer"),
      h("td", { "data-label": "Since" }, date(user.created_at)))))
      : h("p", { class: "empty" }, "No users."));
}

function invoicesCard(invoices) {
  return h("section", { class: "card section-gap", "aria-labelledby": "invoices-title", dataset: { invoices: invoices.length } },
    h("div", { class: "card-head" }, h("h2", { id: "invoices-title" }, "Invoices"), h("span", { class: "muted small" }, "Newest first")),
    invoices.length ? table("invoices-title", [["Number"], ["For"], ["Amount", "num"], ["Due"], ["Status"]],
      invoices.map((invoice) => h("tr", { dataset: { invoice: invoice.id } },
        h("td", { "data-label": "Number" }, h("div", {}, h("span", { class: "mono" }, invoice.invoice_number),
          invoice.payment_reference ? h("div", { class: "small muted mono" }, invoice.payment_reference) : null)),
        h("td", { "data-label": "For" }, invoiceLabel(invoice)),
        h("td", { "data-label": "Amount", class: "num" }, said(invoice.amount, invoice.currency),
          invoice.status !== "paid" && invoice.amount_due !== invoice.amount
            ? h("div", { class: "small muted" }, `${said(invoice.amount_due, invoice.currency)} due`) : null),
        h("td", { "data-label": "Due" }, date(invoice.due_date)),
        h("td", { "data-label": "Status" }, badge(invoice.status)))))
      : h("p", { class: "empty" }, "No invoices."));
}

function paymentsCard(payments) {
  return h("section", { class: "card section-gap", "aria-labelledby": "payments-title", dataset: { payments: payments.length } },
    h("div", { class: "card-head" }, h("h2", { id: "payments-title" }, "Payments"), h("span", { class: "muted small" }, "Newest first")),
    payments.length ? table("payments-title", [["Submitted"], [TID], ["Amount", "num"], ["Method"], ["Status"]],
      payments.map((payment) => h("tr", { dataset: { payment: payment.id } },
        h("td", { "data-label": "Submitted" }, h("div", {}, dateTime(payment.created_at),
          h("div", { class: "small muted" }, age(payment.created_at)))),
        h("td", { "data-label": TID }, h("a", {
          href: `/admin/payments/${encodeURIComponent(payment.id)}`, class: "mono",
          "aria-label": `Payment ${payment.manual_reference}`,
        }, payment.manual_reference)),
        h("td", { "data-label": "Amount", class: "num" }, said(payment.amount, payment.currency)),
        h("td", { "data-label": "Method" }, paymentMethodName(payment)),
        h("td", { "data-label": "Status" }, h("div", {}, badge(payment.status),
          payment.status === "pending_approval" ? approvalsNote(payment) : null)))))
      : h("p", { class: "empty" }, "No payments."));
}

/** "Suspended by an admin": the reason, and the status reactivating gives back. */
function holdBanner(hold) {
  if (!hold) return null;
  return h("section", { class: "banner banner-danger", role: "status", dataset: { hold: "" } },
    h("h2", {}, "Suspended by an admin"),
    h("p", {}, "Reason: ", h("strong", { dataset: { holdReason: "" } }, hold.reason)),
    h("p", { class: "small" }, "Its credits cannot be used meanwhile. Its subscription goes on as usual; reactivating "
      + "gives it back the status it has then: ", h("span", { dataset: { statusAfter: hold.status_after } }, badge(hold.status_after)), "."));
}

function reasonField(hint) {
  return field({ label: "Reason", name: "reason", kind: "textarea", attrs: { maxlength: 1000 }, hint });
}

/** Suspend (no hold yet) or Reactivate (held): an owner's button, with a reason dialog. */
function holdButton(account, hold) {
  const held = Boolean(hold);
  const button = h("button", { class: held ? "btn btn-success" : "btn btn-danger", type: "button", dataset: { holdAction: held ? "reactivate" : "suspend" } },
    held ? "Reactivate account" : "Suspend account");
  button.addEventListener("click", async () => {
    const keyFor = idempotencyKeys();
    const done = await confirmDialog({
      title: held ? `Reactivate ${account.name}?` : `Suspend ${account.name}?`,
      subtitle: `Account ${account.id}`,
      body: [h("p", {}, held
        ? ["It gets back the status its subscription gives it (now ", badge(hold.status_after), ") and its credits can be used again."]
        : "Its status becomes suspended: its credits cannot be used until an owner reactivates it. Its subscription goes on "
          + "as usual (renewals, reminders), and the status that gives is kept for the reactivation."),
      reasonField(held ? "Required. Kept in the account's history, e.g. “Dispute settled”."
        : "Required. Kept in the account's history, e.g. “Chargeback on invoice INV-2026-000123”.")],
      confirmLabel: held ? "Reactivate account" : "Suspend account", busyLabel: held ? "Reactivating…" : "Suspending…",
      tone: held ? "primary" : "danger", name: held ? "reactivate-account" : "suspend-account",
      onConfirm: async (form) => {
        const { reason } = values(form);
        if (!reason) {
          showErrors(form, { reason: held ? "Give the reason for reactivating" : "Give the reason for suspending" });
          return STAY;
        }
        const call = held ? api.reactivateAccount : api.suspendAccount;
        try {
          return await call(account.id, reason, keyFor({ held, reason }));
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          showErrors(form, error.fieldErrors, error.message);
          return STAY;
        }
      },
    });
    if (!done) return;
    toast(held ? `Reactivated ${done.account.name}: it is ${humanize(done.account.status).toLowerCase()}.`
      : `Suspended ${done.account.name}.`);
    await render();
  });
  return gate(button, OWNER);
}

export async function adminAccountView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const detail = await api.adminAccount(ctx.params.id);
  const { account, subscription, credits, hold } = detail;
  const parts = creditStatement(credits, { account, admin: true });
  const internal = account.plan === "internal"; // the admins' own account: disable an admin instead
  ctx.show(account.name,
    h("p", { class: "small" }, h("a", { href: "/admin/accounts" }, "← Accounts")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, account.name),
        h("p", {}, `${humanize(account.plan)} plan · customer since ${date(account.created_at)}`)),
      h("div", { class: "head-actions" },
        h("span", { "data-account-status": account.status }, badge(account.status)),
        internal ? null : holdButton(account, hold))),
    holdBanner(hold),
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
    usersCard(detail.users ?? []),
    invoicesCard(detail.invoices ?? []),
    paymentsCard(detail.payments ?? []),
    h("h2", { class: "section-title" }, "Credits"),
    parts.balances,
    can(OWNER) ? grantForm(account) : h("section", { class: "card section-gap" }, h("h2", {}, "Grant or correct credits"),
      roleNote("Owners grant and correct credits.", OWNER)),
    parts.ledger,
    h("div", { style: "margin-top:1rem" }, parts.usage),
    h("section", { class: "card section-gap", "aria-labelledby": "history-title", dataset: { history: "" } },
      h("h2", { id: "history-title" }, "History"),
      h("p", { class: "muted small" }, "The account's and its subscription's changes, oldest first."),
      historyList(detail.history ?? [], { entities: true })));
}
