// The plans page (/billing/plans): for a running subscription, the plans with the current one
// marked, an upgrade (prorated, paid by an invoice) or a downgrade at the period end, and cancelling
// at the period end; an account without one chooses a plan (choose-plan.js).
import { ApiError, api, idempotencyKeys } from "../api.js";
import { badge, count, date, h, money, price, toast } from "../dom.js";
import { busy } from "../forms.js";
import { navigate, render } from "../router.js";
import { accountBanners } from "../components/account-banners.js";
import { confirmDialog } from "../components/dialog.js";
import { actionAlert, keepPlanButton } from "../components/plan-actions.js";
import { choosePlanView } from "./choose-plan.js";
import { planLabel } from "./dashboard.js";

const cents = (amount) => Math.round(Number(amount) * 100);

/** Why the plan cannot be changed now, or null when it can. */
function changeBlocked(subscription, plans, planName) {
  if (subscription.status === "pending_payment") return "Your plan starts once its first invoice is paid; you can change it after that.";
  if (["past_due", "suspended"].includes(subscription.status)) return "Pay the renewal invoice first; then you can change your plan.";
  if (subscription.upgrade_invoice_id) {
    return `Your upgrade awaits payment of its invoice. Pay it, or keep ${planName(subscription.plan)} to withdraw it `
      + "before choosing another plan.";
  }
  // The banners above say these two (with Resume and Keep buttons).
  if (subscription.cancel_at_period_end) return "Your plan is cancelled at the period end. Resume it to change it.";
  if (subscription.scheduled_plan) return `Keep ${planName(subscription.plan)} first to choose another plan.`;
  if (!plans.length) return "No plan is offered right now.";
  return null;
}

/** The rows of a change's summary, as a definition list. */
const summary = (pairs) => h("dl", { class: "kv" }, pairs.filter(Boolean).flatMap(([k, v, attrs]) => [h("dt", {}, k), h("dd", attrs ?? {}, v)]));

/** Upgrade: show what the change-preview says (prorated amount, credits) before asking for it. */
function confirmUpgrade(preview, plan, subscription, current) {
  const keyFor = idempotencyKeys();
  const end = date(subscription.current_period_end);
  return confirmDialog({
    name: "upgrade", title: `Upgrade to ${plan.name}`, subtitle: `From ${current.name}, for the rest of this period`,
    confirmLabel: "Upgrade and get the invoice", busyLabel: "Upgrading…",
    body: [
      summary([
        ["To pay now", `${money(preview.amount, preview.currency)} ${preview.currency}`,
          { class: "due-now", "data-preview-amount": preview.amount }],
        ["Credits added", `${count(preview.credits)} credits, once the payment is approved`, { "data-preview-credits": preview.credits }],
        ["Covers", `The rest of this period, until ${end}`],
        ["Then", `${price(plan)} from ${end}, with ${count(plan.credits)} credits a month`],
      ]),
      h("p", { class: "small muted", style: "margin-top:1rem" },
        "The amount is the price difference for the days left in this period. You get an invoice to pay "
        + `by transfer or wallet, as before; you stay on ${current.name} until the payment is approved.`),
    ],
    onConfirm: () => api.changePlan(plan.slug, keyFor({ plan: plan.slug })),
  });
}

/** Downgrade: it happens at the period end, so there is nothing to pay; ask before scheduling it. */
function confirmDowngrade(preview, plan, current) {
  const keyFor = idempotencyKeys();
  const when = date(preview.effective_at);
  return confirmDialog({
    name: "downgrade", title: `Switch to ${plan.name} on ${when}?`, subtitle: "The change happens at the period end",
    confirmLabel: "Switch at the period end", busyLabel: "Saving…",
    body: [
      summary([
        ["Until " + when, `${current.name}, with its credits`],
        ["From " + when, `${plan.name}: ${price(plan)}, ${count(plan.credits)} credits a month`],
        ["To pay now", "Nothing"],
      ]),
      h("p", { class: "small muted", style: "margin-top:1rem" },
        `Your next renewal invoice is for ${plan.name}. You can keep ${current.name} until then.`),
    ],
    onConfirm: () => api.changePlan(plan.slug, keyFor({ plan: plan.slug })),
  });
}

function confirmCancel(subscription, current) {
  const keyFor = idempotencyKeys();
  const end = date(subscription.current_period_end);
  return confirmDialog({
    name: "cancel", title: "Cancel at the period end?", subtitle: `${current.name} stays active until ${end}`,
    confirmLabel: "Cancel at period end", busyLabel: "Cancelling…", dismissLabel: "Keep my plan", tone: "danger",
    body: h("p", {}, `Your plan and its credits stay usable until ${end}. No renewal invoice is issued, and after `
      + "that date the account is cancelled. You can resume the plan any time before then."),
    onConfirm: () => api.cancelSubscription(keyFor({ cancel: true })),
  });
}

/** A plan's card with what choosing it does from the current plan. */
function planCard(plan, { subscription, current, blocked, onChoose }) {
  const isCurrent = plan.slug === subscription.plan;
  const isScheduled = plan.slug === subscription.scheduled_plan;
  const higher = cents(plan.price) > cents(current.price);
  let action = null;
  if (isCurrent) {
    action = h("p", { class: "small muted plan-note" }, subscription.scheduled_plan
      ? `Until ${date(subscription.current_period_end)}` : "Your plan");
  } else if (isScheduled) {
    action = h("p", { class: "small muted plan-note" }, `From ${date(subscription.current_period_end)}`);
  } else {
    action = h("button", {
      class: higher ? "btn" : "btn btn-secondary", type: "button", disabled: Boolean(blocked),
      "aria-label": `${higher ? "Upgrade" : "Downgrade"} to ${plan.name}`,
      onclick: (event) => onChoose(plan, event.currentTarget),
    }, higher ? "Upgrade" : "Downgrade");
  }
  return h("section", {
    class: `card plan-card${isCurrent ? " plan-current" : ""}`, "aria-labelledby": `plan-${plan.slug}`,
    dataset: { plan: plan.slug, current: isCurrent ? "true" : null },
  },
    h("div", { class: "plan-card-head" },
      h("h2", { id: `plan-${plan.slug}` }, plan.name),
      isCurrent ? h("span", { class: "badge badge-success" }, "Current plan") : null,
      isScheduled ? h("span", { class: "badge badge-info" }, "Scheduled") : null),
    h("p", { class: "plan-price" }, price(plan)),
    h("p", { class: "small muted" }, `${count(plan.credits)} credits a month`),
    h("ul", { class: "small muted plan-features" }, plan.features.map((feature) => h("li", {}, feature))),
    h("div", { class: "plan-action" }, action));
}

function cancelCard(subscription, current, alert) {
  if (subscription.status !== "active" || subscription.cancel_at_period_end) return null;
  const button = h("button", { class: "btn btn-secondary", type: "button", "data-action": "cancel" }, "Cancel at period end");
  button.addEventListener("click", async () => {
    alert.textContent = "";
    if (await confirmCancel(subscription, current)) {
      toast(`Your plan ends on ${date(subscription.current_period_end)}. You can resume it until then.`);
      await render();
    }
  });
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "cancel-title" },
    h("h2", { id: "cancel-title" }, "Cancel your plan"),
    h("p", { class: "muted" }, `Cancelling stops the renewal: ${current.name} stays active until `
      + `${date(subscription.current_period_end)}, then the account is cancelled.`),
    h("div", { class: "actions" }, button));
}

/** Why nothing can be changed now, with the invoice to pay or the button that withdraws an upgrade. */
function blockedNote(text, subscription, pending, planName) {
  const invoiceId = subscription.upgrade_invoice_id ?? (subscription.status !== "active" ? pending?.id : null);
  const alert = actionAlert();
  return h("div", { class: "alert alert-info", role: "status", "data-blocked": true },
    h("p", { style: "margin:0" }, text,
      invoiceId ? [" ", h("a", { href: `/billing/invoices/${encodeURIComponent(invoiceId)}` }, "See the invoice")] : null),
    subscription.upgrade_invoice_id && subscription.status === "active" ? [alert,
      h("div", { class: "actions", style: "margin-top:.5rem" }, keepPlanButton(alert, subscription.plan, planName(subscription.plan),
        { label: `Keep ${planName(subscription.plan)}`, done: "The upgrade is withdrawn and its invoice voided." }))] : null);
}

function manageView(ctx, me, plans) {
  const { subscription } = me;
  const paid = plans.filter((plan) => plan.price !== "0.00");
  const current = plans.find((plan) => plan.slug === subscription.plan)
    ?? { slug: subscription.plan, name: planLabel(subscription.plan, plans), price: "0.00", credits: 0, features: [] };
  const name = (slug) => planLabel(slug, plans);
  const blocked = changeBlocked(subscription, paid, name);
  const alert = actionAlert();

  async function onChoose(plan, button) {
    alert.textContent = "";
    let preview;
    try {
      preview = await busy(button, "Checking…", () => api.changePreview(plan.slug));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      alert.textContent = error.message;
      alert.scrollIntoView({ block: "nearest" });
      return;
    }
    if (preview.change === "upgrade") {
      const result = await confirmUpgrade(preview, plan, subscription, current);
      if (!result) return;
      toast(result.invoice ? `Invoice ${result.invoice.invoice_number} for the upgrade awaits payment.` : "Upgrade requested.");
      await navigate("/dashboard");
    } else if (preview.change === "downgrade") {
      if (!(await confirmDowngrade(preview, plan, current))) return;
      toast(`Your plan changes to ${plan.name} on ${date(preview.effective_at)}.`);
      await render();
    } else {
      await render();
    }
  }

  const shown = paid.some((plan) => plan.slug === current.slug) ? paid : [current, ...paid];
  ctx.show("Plans",
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, "Plans"),
        h("p", {}, `${me.account.name} · ${current.name}, `, h("span", {}, price(current)), " · ",
          badge(subscription.status)))),
    accountBanners(me, name, { onPlansPage: true }),
    blocked && !subscription.cancel_at_period_end && !subscription.scheduled_plan
      ? blockedNote(blocked, subscription, me.pending_invoice, name) : null,
    alert,
    h("div", { class: "grid plan-grid" },
      shown.map((plan) => planCard(plan, { subscription, current, blocked, onChoose }))),
    h("p", { class: "small muted", style: "margin-top:1rem" },
      "Upgrades start once their invoice is paid, with the price difference for the rest of the period. "
      + "Downgrades start at the end of the period, with nothing to pay now."),
    cancelCard(subscription, current, alert));
}

export async function plansView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const [me, { items: plans }] = await Promise.all([api.me(), api.plans()]);
  const { subscription } = me;
  if (subscription && subscription.status !== "cancelled") {
    manageView(ctx, me, plans);
    return;
  }
  await choosePlanView(ctx, me, plans);
}
