// The admin console's reports: the monthly summary for a range of months (the last 12 unless asked),
// charted with a table of the same figures under each chart; the unpaid invoices by age; and, for
// owners, the CSV exports.
import { ApiError, api } from "../api.js";
import { h, replace } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { agingCard } from "../components/reports/aging.js";
import { exportCard } from "../components/reports/exports.js";
import { summaryCharts } from "../components/reports/summary.js";
import { monthTitle } from "../components/charts/scale.js";
import { OWNER, can, roleNote } from "../roles.js";

/** The form of the range of months; `load(from, to)` reads and draws the summary (throws ApiError). */
function rangeForm(range, load) {
  const submit = h("button", { class: "btn", type: "submit" }, "Show");
  const reset = h("button", { class: "btn btn-secondary", type: "button" }, "Last 12 months");
  const form = h("form", { novalidate: true, class: "range-form", "aria-label": "Months to report", dataset: { rangeForm: "" } },
    formAlert(),
    h("div", { class: "range-fields" },
      field({ label: "From", name: "from", type: "month", value: range.from ?? "", attrs: { placeholder: "YYYY-MM" } }),
      field({ label: "To", name: "to", type: "month", value: range.to ?? "", attrs: { placeholder: "YYYY-MM" } }),
      h("div", { class: "range-actions" }, submit, reset)));

  async function show(from, to, button) {
    clearErrors(form);
    try {
      const summary = await busy(button, "Loading…", () => load(from, to));
      form.elements.namedItem("from").value = summary.months[0]?.month ?? from ?? "";
      form.elements.namedItem("to").value = summary.months.at(-1)?.month ?? to ?? "";
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.fieldErrors, error.message);
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const { from, to } = values(form);
    show(from ?? null, to ?? null, submit);
  });
  reset.addEventListener("click", () => show(null, null, reset));
  return form;
}

/** "?from=2026-01&to=2026-12" for a range asked for; "" for the default one. */
const search = (from, to) => {
  const query = new URLSearchParams(Object.entries({ from, to }).filter(([, v]) => v));
  return query.size ? `?${query}` : "";
};

export async function adminReportsView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const asked = { from: ctx.query.get("from") || null, to: ctx.query.get("to") || null };
  const [first, aging] = await Promise.all([
    api.reportSummary(asked.from, asked.to).catch((error) => {
      if (error instanceof ApiError && error.status === 422) return error; // shown at the range form
      throw error;
    }),
    api.agingReport()]);
  const charts = h("div", { class: "report-summary", dataset: { summary: "" } });
  const shown = h("p", { class: "small muted range-shown", role: "status" });
  const draw = (summary) => {
    const [from, to] = [summary.months[0]?.month ?? "", summary.months.at(-1)?.month ?? ""];
    Object.assign(charts.dataset, { from, to });
    shown.textContent = from ? `Showing ${monthTitle(from)} to ${monthTitle(to)}: ${summary.months.length} months.` : "";
    replace(charts, summaryCharts(summary));
  };
  const load = async (from, to) => {
    const summary = await api.reportSummary(from, to);
    if (!ctx.isCurrent()) return summary;
    draw(summary);
    history.replaceState(null, "", `${location.pathname}${search(from, to)}`);
    return summary;
  };
  const failed = first instanceof ApiError ? first : null;
  const range = failed ? asked : { from: first.months[0]?.month, to: first.months.at(-1)?.month };
  const form = rangeForm(range, load);
  if (failed) {
    replace(charts, h("p", { class: "empty" }, "Choose the months to report."));
  } else {
    draw(first);
  }
  ctx.show("Reports",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Reports"),
        h("p", {}, "Recurring revenue, subscriptions, money collected and approval times month by month (in USD; "
          + "a payment in another currency at its invoice's rate), and the unpaid invoices by age."))),
    h("section", { class: "card", "aria-labelledby": "range-title" },
      h("h2", { id: "range-title", class: "small-title" }, "Months"),
      form, shown),
    charts,
    agingCard(aging),
    can(OWNER) ? exportCard()
      : h("div", { class: "section-gap" }, roleNote("Owners export invoices, payments and the ledgers as CSV files.", OWNER)));
  if (failed) showErrors(form, failed.fieldErrors, failed.message);
}
