// The customer's dashboard: account status, credits (the plan's allowance and extra), plan and
// period, with the banner of the invoice to pay and what the account's state asks for.
import { api, distinctMethods } from "../api.js";
import { badge, count, date, h, humanize, money, period, price } from "../dom.js";
import { accountBanners } from "../components/account-banners.js";
import { pendingBanner } from "../components/pending-banner.js";
import { verifyBanner } from "./recovery.js";

/** What the dashboard and billing screens need: me, the plans and top-up packs, and the methods
 *  for the country (of the pending invoice, or all of them when `withMethods`). */
export async function loadAccount({ withMethods = false } = {}) {
  const [me, plans] = await Promise.all([api.me(), api.plans()]);
  const country = me.pending_invoice?.billing_snapshot?.country ?? me.account.billing_country;
  const methods = me.pending_invoice || (withMethods && country) ? distinctMethods(await api.paymentMethods(country)) : [];
  return { me, plans: plans.items, packs: plans.packs ?? [], methods };
}

/** "Balance $11.00 USD — applied to your next invoice", when the account has money with us. */
export function balanceNote(account) {
  if (!account.balance || account.balance === "0.00") return null;
  return h("p", { class: "sub balance-note", dataset: { balance: account.balance } },
    h("strong", {}, `Balance ${money(account.balance, account.balance_currency)} ${account.balance_currency}`),
    " — applied to your next invoice.");
}

export function planLabel(slug, plans) {
  return plans.find((plan) => plan.slug === slug)?.name ?? humanize(slug);
}

function statusText(account, subscription, submitted = false) {
  const end = date(subscription?.current_period_end);
  if (account.status === "pending_payment" && submitted) {
    return "We are checking your payment; your plan starts as soon as it is approved.";
  }
  switch (account.status) {
    case "trial": return account.trial_ends_at
      ? `Free trial until ${date(account.trial_ends_at)}: use your trial credits to try everything.`
      : "Free trial: use your trial credits to try everything.";
    case "pending_payment": return "Your plan starts as soon as your payment is approved.";
    case "active":
      if (subscription?.cancel_at_period_end) return `Paid until ${end}; your plan ends then.`;
      return subscription?.current_period_end ? `Paid until ${end}.` : "Your account is in good standing.";
    case "past_due": return `Renewal unpaid: pay it by ${date(subscription?.suspends_at)} to keep your service.`;
    case "suspended": return subscription?.status === "suspended"
      ? "Credits cannot be used until the renewal invoice is paid."
      : "Credits cannot be used. Choose a plan to start again.";
    case "expired": return "Your free trial has ended. Choose a plan to keep going.";
    case "cancelled": return "Your plan has ended. Choose a plan to start again.";
    default: return "";
  }
}

/** The credits' two buckets: the plan's allowance for this period (expires at its end) and extra. */
function creditsNote(account, plan) {
  if (account.status === "pending_payment") {
    return `${plan ? count(plan.credits) : "Plan"} credits are added when your payment is approved.`;
  }
  if (account.status === "trial") {
    return account.trial_ends_at ? `Trial credits, usable until ${date(account.trial_ends_at)}.` : "Trial credits.";
  }
  const buckets = account.credit_buckets;
  if (!buckets) return "Available to use.";
  return h("span", { class: "buckets" },
    h("span", { dataset: { bucket: "allowance" } }, `${count(buckets.allowance)} plan allowance for this period`),
    h("span", { dataset: { bucket: "extra" } }, `${count(buckets.extra)} extra credits`),
    account.status === "suspended" ? h("strong", {}, "Not usable while the account is suspended.") : null);
}

function periodCard(subscription) {
  const running = subscription && subscription.current_period_start && subscription.status !== "cancelled";
  let sub = "No billing period yet.";
  if (running && ["past_due", "suspended"].includes(subscription.status)) sub = "This period has ended; its renewal is unpaid.";
  else if (running && subscription.cancel_at_period_end) sub = "No renewal: your plan ends with this period.";
  else if (running && subscription.renewal_invoice_id) sub = "The renewal invoice for the next period is issued.";
  else if (running && subscription.next_invoice_at) sub = `Next invoice on ${date(subscription.next_invoice_at)}.`;
  return h("section", { class: "card metric", "aria-labelledby": "m-period", "data-metric": "period" },
    h("h2", { class: "label", id: "m-period" }, "Current period"),
    h("div", { class: "value value-text" }, running
      ? period(subscription.current_period_start, subscription.current_period_end) : "—"),
    h("p", { class: "sub" }, sub));
}

/**
 * "Payment approved — your Starter plan is active until …", shown once: the first time the
 * dashboard sees the account active after it saw it waiting for a payment (kept per account in
 * localStorage, so a reload or another visit does not repeat it).
 */
function approvedBanner(account, subscription, name) {
  const key = `ledgerline.waiting.${account.id}`;
  const waiting = account.status === "pending_payment";
  let seenWaiting = false;
  try {
    seenWaiting = localStorage.getItem(key) === "1";
    if (waiting) localStorage.setItem(key, "1");
    else localStorage.removeItem(key);
  } catch { /* storage unavailable: no message */ }
  if (!seenWaiting || account.status !== "active" || !subscription) return null;
  const until = subscription.current_period_end ? ` until ${date(subscription.current_period_end)}` : "";
  return h("div", { class: "banner banner-success", role: "status", dataset: { banner: "approved" } },
    h("h2", {}, `Payment approved — your ${name(subscription.plan ?? account.plan)} plan is active${until}`),
    h("p", {}, "Your plan's credits are added. Thank you!"));
}

export async function dashboardView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const { me, plans, packs, methods } = await loadAccount();
  const { user, account, subscription } = me;
  const plan = plans.find((p) => p.slug === (subscription?.plan ?? account.plan));
  const name = (slug) => planLabel(slug, plans);
  const submitted = account.status === "pending_payment"
    && me.pending_invoice?.latest_payment?.status === "pending_approval";

  ctx.show("Dashboard",
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Hello, ${user.name.split(" ")[0]}`),
        h("p", {}, `${account.name} · member since ${date(account.created_at)}`))),
    verifyBanner(user),
    approvedBanner(account, subscription, name),
    pendingBanner(me.pending_invoice, methods, { subscription, plans, packs }),
    accountBanners(me, name),
    h("div", { class: "grid grid-4 dash-metrics" },
      h("section", { class: "card metric", "aria-labelledby": "m-status", "data-metric": "status" },
        h("h2", { class: "label", id: "m-status" }, "Account status"),
        h("div", { class: "value" }, submitted
          ? h("span", { class: "badge badge-info badge-wrap", dataset: { status: "payment_submitted" } },
            "Payment submitted, awaiting approval")
          : badge(account.status)),
        h("p", { class: "sub" }, statusText(account, subscription, submitted)),
        balanceNote(account)),
      h("section", { class: "card metric", "aria-labelledby": "m-credits", "data-metric": "credits" },
        h("h2", { class: "label", id: "m-credits" }, "Credits"),
        h("div", { class: "value", "data-credits": account.credits }, count(account.credits)),
        h("p", { class: "sub" }, creditsNote(account, plan)),
        h("p", { class: "sub" }, h("a", { href: "/billing/credits" }, "Credit history and use"))),
      h("section", { class: "card metric", "aria-labelledby": "m-plan", "data-metric": "plan" },
        h("h2", { class: "label", id: "m-plan" }, "Plan"),
        h("div", { class: "value value-text" }, name(subscription?.plan ?? account.plan)),
        h("p", { class: "sub" },
          plan && plan.price !== "0.00" ? price(plan) : "No charge",
          subscription ? [" · subscription ", badge(subscription.status)] : null),
        h("p", { class: "sub" }, h("a", { href: "/billing/plans" },
          subscription?.status === "active" ? "Change plan" : "See plans"))),
      periodCard(subscription)),
    h("section", { class: "card", style: "margin-top:1rem" },
      h("div", { class: "card-head" },
        h("h2", {}, "Billing"),
        h("a", { href: "/billing" }, "Invoices and payments →")),
      h("p", { class: "muted" }, "Your invoices, their status and every payment you confirmed are on the ",
        h("a", { href: "/billing" }, "billing page"), ". Plans and their prices are on the ",
        h("a", { href: "/billing/plans" }, "plans page"), ".")));
}
