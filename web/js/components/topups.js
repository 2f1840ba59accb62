// Buying extra credits: the packs of GET /billing/plans with a "Buy" button that asks how the
// payment will be made and gets a top-up invoice (paid like any other: confirm, then approval).
// Accounts that cannot buy (trial, ended, suspended) are told why and where to go instead.
import { api, idempotencyKeys } from "../api.js";
import { count, h, money, toast } from "../dom.js";
import { navigate, render } from "../router.js";
import { confirmDialog } from "./dialog.js";
import { methodSelector } from "./methods.js";

export const CAN_TOP_UP = ["active", "past_due"];

const choosePlanLink = () => h("a", { class: "btn", href: "/billing/plans" }, "Choose a plan");

/** Why this account cannot buy credits now, and what to do: [paragraph, actions?]. */
function whyNot(me) {
  const { account, subscription, pending_invoice: pending } = me;
  switch (account.status) {
    case "trial": return pending
      ? [h("p", {}, "Extra credits can be bought once your plan's first payment is approved. "
        + "The trial credits you have not used are then kept as extra credits.")]
      : [h("p", {}, "Extra credits can be bought on a paid plan. Choose one to keep going after the trial; "
        + "the trial credits you have not used are kept as extra credits."), choosePlanLink()];
    case "expired": return [h("p", {}, "Your free trial has ended. Choose a plan to get credits again; "
      + "then you can buy extra credits too."), choosePlanLink()];
    case "cancelled": return [h("p", {}, "Your plan has ended. Choose a plan to start again; then you can buy extra credits too."),
      choosePlanLink()];
    case "pending_payment": return [h("p", {}, "Extra credits can be bought once your plan's payment is approved.")];
    case "suspended": return subscription && subscription.status !== "cancelled"
      ? [h("p", {}, "Your account is suspended. Pay its renewal invoice to reactivate it; then you can buy extra credits.")]
      : [h("p", {}, "Your account is suspended. Choose a plan to start again."), choosePlanLink()];
    default: return [h("p", {}, "Extra credits cannot be bought on this account now.")];
  }
}

/** Ask how the pack will be paid, then create its invoice; resolves with the invoice or null. */
function buyDialog(pack, methods, preferred) {
  const keyFor = idempotencyKeys();
  const body = h("div", {},
    h("p", { class: "small muted" }, "You get an invoice with a payment reference and the account to pay to. Pay it "
      + "outside this site, then confirm the payment; the credits are added as soon as an admin has checked it."),
    methodSelector({ methods, selected: preferred, legend: "How will you pay?", compact: true,
      hint: "You can still pay with another of these methods when you confirm." }));
  return confirmDialog({
    title: `Buy ${pack.name}`,
    subtitle: `${money(pack.price, pack.currency)} ${pack.currency} · extra credits never expire`,
    body,
    confirmLabel: "Get the invoice",
    busyLabel: "Creating the invoice…",
    name: "topup",
    onConfirm: () => {
      const request = { pack: pack.slug, payment_method: body.querySelector("input[name=payment_method]:checked")?.value ?? "" };
      return api.buyTopup(request, keyFor(request));
    },
  });
}

function packCard(pack, onBuy) {
  const button = h("button", {
    class: "btn", type: "button", "aria-label": `Buy ${pack.name} for ${money(pack.price, pack.currency)}`,
  }, "Buy");
  button.addEventListener("click", () => onBuy(pack));
  return h("section", { class: "card pack-card", "aria-labelledby": `pack-${pack.slug}`, dataset: { pack: pack.slug } },
    h("h3", { id: `pack-${pack.slug}` }, pack.name),
    h("p", { class: "plan-price" }, `${money(pack.price, pack.currency)} `, h("small", { class: "muted" }, pack.currency)),
    h("p", { class: "small muted" }, `${count(pack.credits)} credits that never expire`),
    h("div", { class: "plan-action" }, button));
}

/**
 * The "Buy extra credits" card. `me` is GET /auth/me, `packs` the catalog's, `methods` those of the
 * account's billing country.
 */
export function topupCard(me, packs, methods) {
  const can = CAN_TOP_UP.includes(me.account.status) && me.subscription;
  async function onBuy(pack) {
    const invoice = await buyDialog(pack, methods, me.pending_invoice?.preferred_payment_method ?? "bank_transfer");
    if (!invoice) return;
    toast(`Invoice ${invoice.invoice_number} for ${pack.name} awaits payment.`);
    // The account shows one invoice to pay at a time: a new top-up is it unless another already is.
    if (me.pending_invoice) await navigate(`/billing/invoices/${encodeURIComponent(invoice.id)}`);
    else await render();
  }
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "topup-title", dataset: { topups: can ? "open" : "closed" } },
    h("h2", { id: "topup-title" }, "Buy extra credits"),
    can
      ? [h("p", { class: "muted" }, "Extra credits never expire. They are used once the plan's credits for the period run out."),
        h("div", { class: "grid grid-2 pack-grid" }, packs.map((pack) => packCard(pack, onBuy)))]
      : h("div", { class: "topup-closed", dataset: { reason: me.account.status } }, whyNot(me)));
}
