// The customer's dashboard: account status, credits and plan, with the pending-payment banner.
import { api, distinctMethods } from "../api.js";
import { badge, count, date, h, humanize, money } from "../dom.js";
import { pendingBanner } from "../components/pending-banner.js";

/** What the dashboard and billing screens need: me, the plans, and the methods for the country. */
export async function loadAccount() {
  const [me, plans] = await Promise.all([api.me(), api.plans()]);
  const country = me.pending_invoice?.billing_snapshot?.country ?? me.account.billing_country;
  const methods = me.pending_invoice ? distinctMethods(await api.paymentMethods(country)) : [];
  return { me, plans: plans.items, methods };
}

export function planLabel(slug, plans) {
  return plans.find((plan) => plan.slug === slug)?.name ?? humanize(slug);
}

function statusText(account, subscription) {
  switch (account.status) {
    case "trial": return "Free trial: use your trial credits to try everything.";
    case "pending_payment": return "Your plan starts as soon as your payment is approved.";
    case "active": return subscription?.current_period_end
      ? `Paid until ${date(subscription.current_period_end)}.` : "Your account is in good standing.";
    case "suspended": return "Your account is suspended. Contact support.";
    default: return "";
  }
}

export async function dashboardView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const { me, plans, methods } = await loadAccount();
  const { user, account, subscription } = me;
  const plan = plans.find((p) => p.slug === account.plan);
  const creditsNote = account.status === "pending_payment"
    ? `${plan ? count(plan.credits) : "Plan"} credits are added when your payment is approved.`
    : account.status === "trial" ? "Trial credits." : "Available to use.";

  ctx.show("Dashboard",
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Hello, ${user.name.split(" ")[0]}`),
        h("p", {}, `${account.name} · member since ${date(account.created_at)}`))),
    pendingBanner(me.pending_invoice, methods),
    h("div", { class: "grid grid-3" },
      h("section", { class: "card metric", "aria-labelledby": "m-status", "data-metric": "status" },
        h("h2", { class: "label", id: "m-status" }, "Account status"),
        h("div", { class: "value" }, badge(account.status)),
        h("p", { class: "sub" }, statusText(account, subscription))),
      h("section", { class: "card metric", "aria-labelledby": "m-credits", "data-metric": "credits" },
        h("h2", { class: "label", id: "m-credits" }, "Credits"),
        h("div", { class: "value", "data-credits": account.credits }, count(account.credits)),
        h("p", { class: "sub" }, creditsNote)),
      h("section", { class: "card metric", "aria-labelledby": "m-plan", "data-metric": "plan" },
        h("h2", { class: "label", id: "m-plan" }, "Plan"),
        h("div", { class: "value" }, planLabel(account.plan, plans)),
        h("p", { class: "sub" },
          plan && plan.price !== "0.00" ? `${money(plan.price, plan.currency)} per ${plan.billing_cycle === "yearly" ? "year" : "month"}` : "No charge",
          subscription ? [" · subscription ", badge(subscription.status)] : null))),
    h("section", { class: "card", style: "margin-top:1rem" },
      h("div", { class: "card-head" },
        h("h2", {}, "Billing"),
        h("a", { href: "/billing" }, "Invoices and payments →")),
      account.status === "trial"
        ? h("p", { class: "muted" }, "You are on the free trial. See the paid plans and their prices on the ",
          h("a", { href: "/billing" }, "billing page"), ".")
        : h("p", { class: "muted" }, "Your invoices, their status and every payment you confirmed are on the ",
          h("a", { href: "/billing" }, "billing page"), ".")));
}
