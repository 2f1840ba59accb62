// The banners of an account's state that are not about paying an invoice: a cancellation or a
// downgrade waiting for the period end, a trial's end, and an ended trial or plan ("Choose a plan").
// They are marked data-notice (data-banner is the invoice to pay).
import { date, h } from "../dom.js";
import { actionAlert, keepPlanButton, resumeButton } from "./plan-actions.js";

const choosePlanLink = (text = "Choose a plan") => h("a", { class: "btn", href: "/billing/plans" }, text);

function banner(tone, name, title, ...content) {
  return h("section", { class: `banner banner-${tone}`, "aria-labelledby": `banner-${name}`, dataset: { notice: name } },
    h("h2", { id: `banner-${name}` }, title), content);
}

/**
 * The banners for `me` (GET /auth/me) besides the pending invoice's: at most one or two.
 * `planName(slug)` names a plan; on the plans page itself there is no link to it.
 */
export function accountBanners(me, planName, { onPlansPage = false } = {}) {
  const { account, subscription, pending_invoice: pending } = me;
  const banners = [];
  const current = subscription ? planName(subscription.plan) : null;
  const periodEnd = subscription ? date(subscription.current_period_end) : null;

  if (subscription?.status === "active" && subscription.cancel_at_period_end) {
    const alert = actionAlert();
    banners.push(banner("info", "cancel_scheduled", `Your plan ends on ${periodEnd}`,
      h("p", {}, `You cancelled ${current}: it stays active and its credits usable until ${periodEnd}. `
        + "No renewal invoice is issued; after that date the account is cancelled."),
      alert,
      h("div", { class: "actions" }, resumeButton(alert, current))));
  } else if (subscription?.status === "active" && subscription.scheduled_plan) {
    const next = planName(subscription.scheduled_plan);
    const alert = actionAlert();
    banners.push(banner("info", "downgrade_scheduled", `Changes to ${next} on ${periodEnd}`,
      h("p", {}, `You stay on ${current} until ${periodEnd}. The next period is invoiced as ${next}.`
        + (onPlansPage ? ` To choose another plan, keep ${current} first.` : "")),
      alert,
      h("div", { class: "actions" }, keepPlanButton(alert, subscription.plan, current),
        onPlansPage ? null : h("a", { class: "btn btn-secondary", href: "/billing/plans" }, "See plans"))));
  }

  if (account.status === "trial") {
    const ends = account.trial_ends_at ? date(account.trial_ends_at) : null;
    banners.push(pending
      ? banner("info", "trial", ends ? `Trial ends on ${ends}` : "Free trial",
        h("p", {}, "Your trial credits stay usable until the payment for your plan is approved; "
          + "what is left of them is then kept as extra credits."))
      : banner("info", "trial", ends ? `Trial ends on ${ends}` : "Free trial",
        h("p", {}, "Choose a paid plan to keep going after the trial. The trial credits you have not used are "
          + "kept as extra credits when its first payment is approved."),
        h("div", { class: "actions" }, choosePlanLink())));
  } else if (!pending && ["expired", "cancelled"].includes(account.status)) {
    banners.push(banner("warning", account.status,
      account.status === "expired" ? "Your free trial has ended" : "Your plan has ended",
      h("p", {}, account.status === "expired"
        ? "Choose a plan to get credits again and keep using the service."
        : "Choose a plan to start a new subscription; your account and its history are kept."),
      h("div", { class: "actions" }, choosePlanLink())));
  } else if (!pending && account.status === "suspended" && (!subscription || subscription.status === "cancelled")) {
    banners.push(banner("danger", "suspended_ended", "Your account is suspended",
      h("p", {}, "Its invoice was not paid in time, so the plan did not start. Choose a plan to start again."),
      h("div", { class: "actions" }, choosePlanLink())));
  }
  return banners;
}
