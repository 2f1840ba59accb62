// The monthly summary's charts (GET /billing/admin/reports/summary): MRR and active subscriptions,
// money collected by method and by country, and how long approvals took; each with its table.
import { count, countryName, h, humanize } from "../../dom.js";
import { barChart } from "../charts/bar-chart.js";
import { chartFigure, figuresTable } from "../charts/figure.js";
import { lineChart } from "../charts/line-chart.js";
import { legend } from "../charts/marks.js";
import { monthTitle, usd as money } from "../charts/scale.js";

const METHOD_NAMES = {
  bank_transfer: "Bank transfer", jazzcash: "JazzCash", easypaisa: "Easypaisa", raast: "Raast", upi: "UPI",
  bkash: "bKash", nagad: "Nagad", wise: "Wise", payoneer: "Payoneer", paypal: "PayPal",
};
const MOST = 5; // series in a stacked chart; the smaller ones are summed as "Other"
const OTHER = "other";

const hours = (value) => (value === null || value === undefined ? "—" : `${value} h`);
const monthHead = (month) => h("span", { dataset: { month: month.month } }, monthTitle(month.month));
const range = (months) => `${monthTitle(months[0].month)} to ${monthTitle(months.at(-1).month)}`;

/** Cents of a decimal string ("-12.50" -> -1250), exact. */
function cents(amount) {
  const [whole, part = "00"] = String(amount).replace("-", "").split(".");
  const value = Number(whole) * 100 + Number(part.padEnd(2, "0").slice(0, 2));
  return String(amount).startsWith("-") ? -value : value;
}
const fromCents = (value) => `${value < 0 ? "-" : ""}${Math.floor(Math.abs(value) / 100)}.${String(Math.abs(value) % 100).padStart(2, "0")}`;

function mrrFigure(months) {
  const series = [{ key: "mrr", name: "MRR at the month's end", values: months.map((m) => m.mrr) }];
  const last = months.at(-1);
  return chartFigure({
    name: "mrr", title: "Monthly recurring revenue", half: true, legend: legend(series, "line"),
    draw: lineChart({ months: months.map((m) => m.month), series, format: "money", yTitle: "US dollars a month",
      label: `Monthly recurring revenue, ${range(months)}: ${money(last.mrr)} at the end of ${monthTitle(last.month)}.` }),
    table: figuresTable({
      caption: "Monthly recurring revenue at each month's end (USD)",
      columns: [{ label: "Month" }, { label: "MRR", num: true }],
      rows: months.map((m) => ({ key: m.month, head: monthHead(m), cells: [{ text: money(m.mrr), value: m.mrr, series: "mrr" }] })),
    }),
  });
}

function subscriptionsFigure(months) {
  const series = [{ key: "active_subscriptions", name: "Active at the month's end", values: months.map((m) => m.active_subscriptions) }];
  const last = months.at(-1);
  const cell = (m, key) => ({ text: count(m[key]), value: m[key], series: key });
  return chartFigure({
    name: "subscriptions", title: "Active subscriptions", half: true, legend: legend(series, "line"),
    draw: lineChart({ months: months.map((m) => m.month), series, format: "count", yTitle: "Subscriptions",
      label: `Active subscriptions, ${range(months)}: ${count(last.active_subscriptions)} at the end of ${monthTitle(last.month)}.` }),
    table: figuresTable({
      caption: "Subscriptions active (or past due) at each month's end, new and churned in the month",
      columns: [{ label: "Month" }, { label: "Active", num: true }, { label: "New", num: true }, { label: "Churned", num: true }],
      rows: months.map((m) => ({ key: m.month, head: monthHead(m),
        cells: [cell(m, "active_subscriptions"), cell(m, "new_subscriptions"), cell(m, "churned")] })),
    }),
  });
}

/** The series of a breakdown ("collected_by_method"): the largest over the range first, at most
 *  MOST of them and "Other" for the rest; values per month as decimal strings. */
function breakdown(months, field, nameOf) {
  const sums = new Map();
  for (const month of months) {
    for (const [key, amount] of Object.entries(month[field] ?? {})) sums.set(key, (sums.get(key) ?? 0) + cents(amount));
  }
  const keys = [...sums.keys()].sort((a, b) => sums.get(b) - sums.get(a) || a.localeCompare(b));
  const shown = keys.length > MOST ? keys.slice(0, MOST - 1) : keys;
  const rest = keys.filter((key) => !shown.includes(key));
  const series = shown.map((key) => ({ key, name: nameOf(key), values: months.map((m) => m[field]?.[key] ?? "0.00") }));
  if (rest.length) {
    series.push({ key: OTHER, name: `Other (${rest.map(nameOf).join(", ")})`, values: months.map((m) => fromCents(
      rest.reduce((sum, key) => sum + cents(m[field]?.[key] ?? "0.00"), 0))) });
  }
  return series;
}

function collectedFigure(months, { field, name, title, nameOf, by }) {
  const series = breakdown(months, field, nameOf);
  const total = months.reduce((sum, m) => sum + cents(m.collected), 0);
  const label = series.length
    ? `${title}, ${range(months)}: ${money(fromCents(total))} in all; ${series.map((s) => `${s.name} ${money(fromCents(
      s.values.reduce((sum, v) => sum + cents(v), 0)))}`).join(", ")}.`
    : `${title}, ${range(months)}: nothing collected.`;
  return chartFigure({
    name, title, legend: series.length ? legend(series, "bar") : null,
    draw: barChart({ categories: months.map((m) => m.month), months: true, series, format: "money", yTitle: "US dollars",
      xTitle: "Month", label, empty: "Nothing collected in these months" }),
    note: months.some((m) => cents(m.collected) < 0) ? "A month whose reversals exceed what it collected draws no bar." : null,
    table: figuresTable({
      caption: `Money collected by ${by}, each month (USD; approved payments less reversed ones)`,
      columns: [{ label: "Month" }, ...series.map((s) => ({ label: s.name, num: true })), { label: "Total", num: true }],
      rows: months.map((m, i) => ({ key: m.month, head: monthHead(m), cells: [
        ...series.map((s) => ({ text: money(s.values[i]), value: s.values[i], series: s.key })),
        { text: money(m.collected), value: m.collected, series: "collected" }] })),
    }),
  });
}

function decisionsFigure(months) {
  const series = [
    { key: "median_hours_to_decision", name: "Median", values: months.map((m) => m.median_hours_to_decision) },
    { key: "p90_hours_to_decision", name: "90th percentile", values: months.map((m) => m.p90_hours_to_decision) },
  ];
  const decided = months.filter((m) => m.median_hours_to_decision !== null);
  const last = decided.at(-1);
  const cell = (m, key, text) => ({ text, value: m[key], series: key });
  return chartFigure({
    name: "decisions", title: "Hours from confirmation to decision", legend: legend(series, "line"),
    draw: lineChart({ months: months.map((m) => m.month), series, format: "hours", yTitle: "Hours",
      label: last ? `Hours from a payer's confirmation to an admin's approval or rejection, ${range(months)}; in `
        + `${monthTitle(last.month)} a median of ${last.median_hours_to_decision} h and a 90th percentile of ${last.p90_hours_to_decision} h.`
        : `Hours from confirmation to decision, ${range(months)}: no decisions.` }),
    note: "Read from each month's histogram of decision times: within one of its buckets (1, 2, 4, 8, 12, 24… hours) "
      + "of the exact value. A month without decisions has no point.",
    table: figuresTable({
      caption: "Decisions on payments each month, and the hours from the payer's confirmation to them",
      columns: [{ label: "Month" }, { label: "Approved", num: true }, { label: "Rejected", num: true },
        { label: "Reversed", num: true }, { label: "Median", num: true }, { label: "90th percentile", num: true }],
      rows: months.map((m) => ({ key: m.month, head: monthHead(m), cells: [
        cell(m, "approvals", count(m.approvals)), cell(m, "rejections", count(m.rejections)),
        cell(m, "reversals", count(m.reversals)),
        cell(m, "median_hours_to_decision", hours(m.median_hours_to_decision)),
        cell(m, "p90_hours_to_decision", hours(m.p90_hours_to_decision))] })),
    }),
  });
}

/** The summary's cards for `summary` (its months oldest first). */
export function summaryCharts(summary) {
  const { months } = summary;
  if (!months.length) return h("p", { class: "empty" }, "No months in this range.");
  return [
    h("section", { class: "card section-gap", "aria-labelledby": "mrr-title", dataset: { report: "subscriptions" } },
      h("h2", { id: "mrr-title" }, "Recurring revenue and subscriptions"),
      h("div", { class: "chart-pair" }, mrrFigure(months), subscriptionsFigure(months))),
    h("section", { class: "card section-gap", "aria-labelledby": "collected-title", dataset: { report: "collected" } },
      h("div", { class: "card-head" }, h("h2", { id: "collected-title" }, "Money collected"),
        h("span", { class: "muted small" }, `${money(fromCents(months.reduce((sum, m) => sum + cents(m.collected), 0)))} in these months`)),
      h("div", { class: "chart-stack" },
        collectedFigure(months, { field: "collected_by_method", name: "by-method", title: "By payment method", by: "payment method",
          nameOf: (slug) => METHOD_NAMES[slug] ?? humanize(slug) }),
        collectedFigure(months, { field: "collected_by_country", name: "by-country", title: "By billing country", by: "billing country",
          nameOf: (code) => (code === "unknown" ? "Country unknown" : countryName(code)) }))),
    h("section", { class: "card section-gap", "aria-labelledby": "decisions-title", dataset: { report: "decisions" } },
      h("h2", { id: "decisions-title" }, "Approval times"),
      decisionsFigure(months)),
  ];
}
