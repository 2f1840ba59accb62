// The customer's credits: the plan's credits for this period and the extra ones, the use per day of
// this period next to the previous one, top-ups to buy, and where every credit came from and went.
import { api } from "../api.js";
import { h } from "../dom.js";
import { creditStatement } from "../components/credit-statement.js";
import { pendingBanner } from "../components/pending-banner.js";
import { topupCard } from "../components/topups.js";
import { loadAccount, planLabel } from "./dashboard.js";

export async function creditsView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const [{ me, plans, packs, methods }, statement] = await Promise.all([loadAccount({ withMethods: true }), api.credits()]);
  const { account, subscription } = me;
  const parts = creditStatement(statement, { account, loadMore: (cursor) => api.credits(cursor), invoiceLinks: true });
  ctx.show("Credits",
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Credits"),
        h("p", {}, `${account.name} · ${planLabel(subscription?.plan ?? account.plan, plans)} plan`))),
    pendingBanner(me.pending_invoice, methods, { subscription, plans, packs }),
    parts.balances,
    h("div", { style: "margin-top:1rem" }, parts.usage),
    topupCard(me, packs, methods),
    parts.ledger);
}
