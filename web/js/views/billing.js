// Billing: the invoices and payment history, and one invoice with how to pay it.
import { api, distinctMethods } from "../api.js";
import { badge, countryName, date, dateTime, h, money, period, price } from "../dom.js";
import { placeLines } from "../countries.js";
import { amountDue, invoiceLabel, pendingBanner } from "../components/pending-banner.js";
import { methodCard, paymentMethodName } from "../components/methods.js";
import { receiptAttached } from "../components/proof.js";
import { TID, paymentReference } from "../components/reference.js";
import { pdfButton } from "../components/invoice-pdf.js";
import { balanceNote, loadAccount, planLabel } from "./dashboard.js";
import { exactly, said } from "../amounts.js";

const UNPAID = ["pending", "partially_paid"];
const cell = (label, ...content) => h("td", { "data-label": label }, ...content);
const numCell = (label, ...content) => h("td", { "data-label": label, class: "num" }, ...content);

function invoicesTable(invoices, plans, packs) {
  if (!invoices.length) return h("p", { class: "empty" }, "No invoices yet.");
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive cards", "aria-label": "Invoices" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Invoice"), h("th", { scope: "col" }, "For"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Issued"), h("th", { scope: "col" }, "Due"), h("th", { scope: "col", class: "num" }, "Amount"))),
    h("tbody", {}, invoices.map((invoice) => h("tr", { dataset: { invoice: invoice.id } },
      cell("Invoice", h("a", { href: `/billing/invoices/${encodeURIComponent(invoice.id)}` }, invoice.invoice_number)),
      cell("For", invoiceLabel(invoice, plans, packs)),
      cell("Status", badge(invoice.status)),
      cell("Issued", date(invoice.created_at)),
      cell("Due", UNPAID.includes(invoice.status) ? date(invoice.due_date) : "—"),
      numCell("Amount", `${money(invoice.amount, invoice.currency)} ${invoice.currency}`,
        invoice.status === "partially_paid" ? h("div", { class: "small muted" }, `${amountDue(invoice)} still due`) : null))))));
}

/** What a payment did, in the payer's words: a part payment, an extra kept as balance, the value of
 *  a local-currency payment in the invoice's currency. */
function paymentNote(payment) {
  const usd = (amount) => said(amount, payment.invoice_currency ?? "USD");
  const notes = [
    payment.settles === "partial" ? "Part payment" : null,
    payment.rate ? `= ${usd(payment.applied)}` : null,
    payment.settles === "overpayment" && payment.excess !== "0.00" ? `${usd(payment.excess)} extra to your balance` : null,
  ].filter(Boolean);
  return notes.length ? h("div", { class: "small muted", dataset: { settles: payment.settles } }, notes.join(" · ")) : null;
}

function paymentsTable(payments, invoices, methods) {
  if (!payments.length) return h("p", { class: "empty" }, "No payments confirmed yet.");
  const numbers = new Map(invoices.map((invoice) => [invoice.id, invoice.invoice_number]));
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive cards", "aria-label": "Payment history" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Submitted"), h("th", { scope: "col" }, "Invoice"), h("th", { scope: "col" }, "Method"),
      h("th", { scope: "col" }, TID), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Amount"))),
    h("tbody", {}, payments.map((payment) => h("tr", { dataset: { payment: payment.id } },
      cell("Submitted", dateTime(payment.created_at)),
      cell("Invoice", h("a", { href: `/billing/invoices/${encodeURIComponent(payment.invoice_id)}` },
        numbers.get(payment.invoice_id) ?? "Invoice")),
      cell("Method", paymentMethodName(payment, methods)),
      cell(TID, h("span", { class: "mono" }, payment.manual_reference)),
      cell("Status", badge(payment.status),
        payment.status === "failed" && payment.admin_notes ? h("div", { class: "small muted" }, payment.admin_notes) : null,
        payment.proof ? h("div", {}, receiptAttached(payment)) : null),
      numCell("Amount", said(payment.amount, payment.currency), paymentNote(payment)))))));
}

function plansCard(plans) {
  return h("section", { class: "card" },
    h("h2", {}, "Plans"),
    h("p", { class: "muted" }, "You are on the free trial. Paid plans come with monthly credits:"),
    h("div", { class: "grid grid-3" }, plans.filter((plan) => plan.price !== "0.00").map((plan) =>
      h("div", { class: "card", style: "box-shadow:none" },
        h("h3", {}, plan.name),
        h("p", { class: "metric" }, h("span", { class: "value", style: "font-size:1.4rem" }, price(plan))),
        h("p", { class: "small muted" }, `${plan.credits.toLocaleString("en")} credits`),
        h("ul", { class: "small muted" }, plan.features.map((f) => h("li", {}, f)))))),
    h("div", { class: "actions" }, h("a", { class: "btn", href: "/billing/plans" }, "Choose a plan")));
}

export async function billingView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const [{ me, plans, packs, methods }, invoices, payments] = await Promise.all([loadAccount(), api.invoices(), api.payments()]);
  ctx.show("Billing",
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Billing"), h("p", {}, `${me.account.name} · plan ${planLabel(me.account.plan, plans)}`),
        balanceNote(me.account))),
    pendingBanner(me.pending_invoice, methods, { subscription: me.subscription, plans, packs }),
    me.account.status === "trial" && !me.pending_invoice ? plansCard(plans) : null,
    h("section", { class: "card", style: "margin-top:1rem" },
      h("h2", {}, "Invoices"), invoicesTable(invoices.items, plans, packs)),
    h("section", { class: "card", style: "margin-top:1rem" },
      h("h2", {}, "Payment history"), paymentsTable(payments.items, invoices.items, methods)));
}

/** The invoice's amounts that are not zero: total, paid, waived, from the balance, still due; and
 *  its quotes in local currencies, fixed at issue. */
function invoiceAmounts(invoice, pending) {
  const usd = (amount) => said(amount, invoice.currency);
  const row = (label, key, amount) => (amount && amount !== "0.00"
    ? [h("dt", {}, label), h("dd", { [`data-${key}`]: amount }, usd(amount))] : null);
  return [
    h("dt", {}, "Total"), h("dd", { "data-amount": invoice.amount }, usd(invoice.amount)),
    row("Paid", "amount-paid", invoice.amount_paid),
    row("Waived (transfer fees)", "written-off", invoice.written_off),
    row("Paid from your balance", "balance-applied", invoice.balance_applied),
    pending ? row("Still due", "amount-due", invoice.amount_due ?? invoice.amount) : null,
    (pending ? invoice.quotes ?? [] : []).map((quote) => [
      h("dt", {}, `In ${quote.currency}`),
      h("dd", { dataset: { quote: quote.currency, quoteDue: quote.amount_due } },
        `${exactly(quote.amount_due, quote.currency)}${quote.amount_due !== quote.amount ? " still due" : ""}`,
        h("div", { class: "small muted" }, `${quote.amount_due !== quote.amount ? `${exactly(quote.amount, quote.currency)} in all, ` : ""}`
          + `fixed on this invoice at ${quote.rate} ${quote.currency} per ${invoice.currency}`))]),
  ];
}

function billedTo(snapshot) {
  const lines = [snapshot.billing_name, snapshot.address_line1, snapshot.address_line2,
    ...placeLines(snapshot), countryName(snapshot.country)];
  return h("address", { style: "font-style:normal" },
    lines.filter(Boolean).map((line) => h("div", {}, line)),
    snapshot.billing_email ? h("div", { class: "muted" }, snapshot.billing_email) : null,
    snapshot.tax_id ? h("div", { class: "muted small" }, `Tax ID ${snapshot.tax_id}`) : null);
}

export async function invoiceView(ctx) {
  if (!ctx.requireUser()) return;
  ctx.loading();
  const [invoice, payments, { items: plans, packs = [] }, me] = await Promise.all([
    api.invoice(ctx.params.id), api.payments(), api.plans(), api.me()]);
  const country = invoice.billing_snapshot?.country;
  const methods = distinctMethods(await api.paymentMethods(country));
  const own = payments.items.filter((payment) => payment.invoice_id === invoice.id);
  const latest = own[0] ?? null;
  const pending = UNPAID.includes(invoice.status);

  ctx.show(`Invoice ${invoice.invoice_number}`,
    h("p", { class: "small" }, h("a", { href: "/billing" }, "← Billing")),
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, `Invoice ${invoice.invoice_number}`),
        h("p", {}, `${invoiceLabel(invoice, plans, packs)} · issued ${date(invoice.created_at)}`)),
      h("div", { class: "head-actions" }, badge(invoice.status),
        pdfButton(invoice, api.invoicePdf, { label: invoice.status === "paid" ? "Download receipt (PDF)" : "Download PDF" }))),
    pending ? pendingBanner({ ...invoice, latest_payment: latest }, methods,
      { showInvoiceLink: false, subscription: me.subscription, plans, packs }) : null,
    h("div", { class: "grid grid-2" },
      h("section", { class: "card" },
        h("h2", {}, "Summary"),
        h("dl", { class: "kv" },
          h("dt", {}, "For"), h("dd", {}, invoice.kind === "renewal"
            ? `Renewal of the ${planLabel(invoice.plan, plans)} plan` : invoiceLabel(invoice, plans, packs)),
          invoice.period_start ? [h("dt", {}, "Period"), h("dd", {}, period(invoice.period_start, invoice.period_end))] : null,
          invoiceAmounts(invoice, pending),
          h("dt", {}, "Status"), h("dd", {}, badge(invoice.status)),
          h("dt", {}, pending ? "Due" : "Paid"), h("dd", {}, pending ? date(invoice.due_date) : dateTime(invoice.paid_at)),
          h("dt", {}, "Your payment reference"), h("dd", {}, paymentReference(invoice.payment_reference, { copy: pending })))),
      h("section", { class: "card" }, h("h2", {}, "Billed to"), billedTo(invoice.billing_snapshot ?? {}))),
    pending && methods.length && latest?.status !== "pending_approval" ? h("section", { class: "card", style: "margin-top:1rem" },
      h("h2", {}, "How to pay"),
      h("p", { class: "muted small" }, `Use any of these methods for ${countryName(country)}; write your payment reference, `,
        paymentReference(invoice.payment_reference, { copy: false }), ", in the transfer's description."),
      h("div", { class: "grid grid-2" }, methods.map((method) =>
        h("div", { class: "card", style: "box-shadow:none" }, methodCard(method, { invoice }))))) : null,
    h("section", { class: "card", style: "margin-top:1rem" },
      h("h2", {}, "Payments on this invoice"), paymentsTable(own, [invoice], methods)));
}
