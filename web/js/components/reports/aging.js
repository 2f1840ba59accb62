// The aging of unpaid invoices (GET /billing/admin/reports/aging): the amount due in each bucket of
// days past due as bars, their counts above them, the same as a table, and the 20 oldest invoices
// with links to their accounts.
import { count, date, dateTime, h } from "../../dom.js";
import { accountLink } from "../../views/admin-account.js";
import { barChart } from "../charts/bar-chart.js";
import { chartFigure, figuresTable } from "../charts/figure.js";
import { usd as money } from "../charts/scale.js";

const BUCKET_NAMES = { current: "Current (not yet due)", "1-7": "1–7 days", "8-30": "8–30 days", "31-60": "31–60 days", "61+": "61 days or more" };
const AXIS_NAMES = { current: "Current", "1-7": "1–7", "8-30": "8–30", "31-60": "31–60", "61+": "61+" };
const invoices = (n) => `${count(n)} invoice${n === 1 ? "" : "s"}`;

function bucketsFigure(report) {
  const { buckets, total } = report;
  const series = [{ key: "amount_due", name: "Amount due", values: buckets.map((b) => b.amount_due) }];
  return chartFigure({
    name: "aging", title: "Amount due by days past due",
    draw: barChart({
      categories: buckets.map((b) => b.bucket), labels: buckets.map((b) => AXIS_NAMES[b.bucket] ?? b.bucket),
      short: buckets.map((b) => (b.bucket === "current" ? "0" : AXIS_NAMES[b.bucket] ?? b.bucket)),
      series, format: "money", yTitle: "US dollars due", xTitle: "Days past due",
      above: buckets.map((b) => ({ long: invoices(b.count), short: count(b.count) })),
      empty: "No unpaid invoices",
      label: `Unpaid invoices by days past due: ${buckets.map((b) => `${BUCKET_NAMES[b.bucket] ?? b.bucket}, `
        + `${invoices(b.count)}, ${money(b.amount_due)}`).join("; ")}. In all ${invoices(total.count)}, ${money(total.amount_due)} due.`,
    }),
    note: "The bars are the amounts due; the number above each bar is how many invoices they are.",
    table: figuresTable({
      caption: "Unpaid invoices by days past due (USD)",
      columns: [{ label: "Days past due" }, { label: "Invoices", num: true }, { label: "Amount due", num: true }],
      rows: buckets.map((b) => ({ key: b.bucket, head: BUCKET_NAMES[b.bucket] ?? b.bucket, cells: [
        { text: count(b.count), value: b.count, series: "count" },
        { text: money(b.amount_due), value: b.amount_due, series: "amount_due" }] })),
      foot: { key: "total", head: "Total", cells: [
        { text: count(total.count), value: total.count, series: "count" },
        { text: money(total.amount_due), value: total.amount_due, series: "amount_due" }] },
    }),
  });
}

function oldestTable(oldest) {
  if (!oldest.length) return h("p", { class: "empty" }, "No unpaid invoices.");
  return h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps oldest", "aria-labelledby": "oldest-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Invoice"), h("th", { scope: "col" }, "Customer"), h("th", { scope: "col", class: "num" }, "Amount due"),
      h("th", { scope: "col" }, "Due date"), h("th", { scope: "col", class: "num" }, "Days past due"))),
    h("tbody", {}, oldest.map((invoice) => h("tr", { dataset: { invoice: invoice.id, bucket: invoice.bucket } },
      h("td", { "data-label": "Invoice", dataset: { field: "invoice_number" } }, h("span", { class: "mono" }, invoice.invoice_number)),
      h("td", { "data-label": "Customer", dataset: { field: "customer" } }, h("div", {},
        accountLink(invoice.account_id, invoice.account_name ?? invoice.billing_name ?? invoice.account_id),
        invoice.billing_email ? h("div", { class: "small muted wrap-anywhere" }, invoice.billing_email) : null)),
      h("td", { "data-label": "Amount due", class: "num", dataset: { field: "amount_due", value: invoice.amount_due } },
        money(invoice.amount_due)),
      h("td", { "data-label": "Due date", dataset: { field: "due_date", value: invoice.due_date } }, date(invoice.due_date)),
      h("td", { "data-label": "Days past due", class: "num", dataset: { field: "days_past_due", value: invoice.days_past_due } },
        count(invoice.days_past_due)))))));
}

/** The "Unpaid invoices" card of the aging report. */
export function agingCard(report) {
  return h("section", { class: "card section-gap", "aria-labelledby": "aging-title", dataset: { report: "aging" } },
    h("div", { class: "card-head" },
      h("h2", { id: "aging-title" }, "Unpaid invoices"),
      h("span", { class: "muted small", dataset: { asOf: report.as_of } }, `As of ${dateTime(report.as_of)}`)),
    h("p", { dataset: { agingTotal: "" } }, h("strong", {}, invoices(report.total.count)), " unpaid, ",
      h("strong", {}, money(report.total.amount_due)), " due in all."),
    bucketsFigure(report),
    h("h3", { id: "oldest-title", class: "section-gap" }, `The ${report.oldest.length === 20 ? "20 " : ""}oldest unpaid invoices`),
    h("p", { class: "small muted" }, "By due date, past due or not. Each customer links to their account."),
    oldestTable(report.oldest));
}
