// Use of credits per day, this period next to the previous one: two bar charts drawn as inline SVG
// on the same scale, a sentence that says the totals, and the days with use as a table.
import { count, date, h, period, svg } from "../dom.js";

const SLOT = 10; // SVG units per day; a bar is 7 wide with a gap of 3
const HEIGHT = 100;

const used = (day) => Math.max(0, day.consumed); // a day whose releases exceed its use draws no bar
const total = (span) => span.days.reduce((sum, day) => sum + day.consumed, 0);
const today = () => new Date().toISOString().slice(0, 10);
const credits = (n) => `${count(n)} credit${n === 1 ? "" : "s"}`;

function bars(span, max, { future }) {
  const now = today();
  return span.days.map((day, i) => {
    const x = i * SLOT + 1.5;
    const label = `${date(day.date)}: ${credits(day.consumed)}`;
    if (future && day.date > now) {
      return svg("rect", { class: "bar-future", x, y: HEIGHT - 1.5, width: 7, height: 1.5 }, svg("title", {}, `${date(day.date)}: to come`));
    }
    const value = used(day);
    if (!value) return null; // the axis is the day's (empty) bar
    const height = Math.max(2.5, (value / max) * (HEIGHT - 4));
    return svg("rect", { class: "bar", x, y: HEIGHT - height, width: 7, height, dataset: { day: day.date, consumed: day.consumed } },
      svg("title", {}, label));
  });
}

/** One period's chart: its name and total above, the bars, its first and last day below. */
function chart(span, max, { name, title, current }) {
  const sum = total(span);
  const busiest = span.days.reduce((best, day) => (used(day) > used(best) ? day : best), span.days[0]);
  const width = span.days.length * SLOT;
  const described = sum > 0
    ? `${title}: ${credits(sum)} in total, most on ${date(busiest.date)} (${count(busiest.consumed)}).`
    : `${title}: no credits used.`;
  return h("figure", { class: `usage-chart usage-${name}`, dataset: { chart: name, total: sum } },
    h("figcaption", {},
      h("span", { class: "usage-title" }, h("span", { class: "swatch", "aria-hidden": "true" }), title),
      h("span", { class: "usage-total" }, credits(sum))),
    h("div", { class: "chart-frame" },
      h("span", { class: "chart-max", "aria-hidden": "true" }, `${count(max)} a day`),
      svg("svg", {
        viewBox: `0 0 ${width} ${HEIGHT}`, preserveAspectRatio: "none", role: "img", "aria-label": described,
        focusable: "false",
      },
      svg("line", { class: "grid", x1: 0, x2: width, y1: 4, y2: 4, "vector-effect": "non-scaling-stroke" }),
      bars(span, max, { future: current }),
      svg("line", { class: "axis", x1: 0, x2: width, y1: HEIGHT, y2: HEIGHT, "vector-effect": "non-scaling-stroke" }))),
    h("div", { class: "chart-axis", "aria-hidden": "true" },
      h("span", {}, date(span.days[0]?.date)), h("span", {}, date(span.days.at(-1)?.date))));
}

/** The days with use of both periods, newest first, for people who do not read the bars. */
function daysTable(spans) {
  const days = spans.flatMap((span) => span.days).filter((day) => day.consumed !== 0).reverse();
  return h("details", { class: "usage-table" },
    h("summary", {}, "Use per day as a table"),
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Credits used per day" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col", class: "num" }, "Credits used"))),
      h("tbody", {}, days.map((day) => h("tr", {},
        h("td", {}, date(day.date)), h("td", { class: "num" }, count(day.consumed))))))));
}

/**
 * The "Use per day" card for `usage` ({current, previous}) of GET /billing/credits. `trial` names
 * the current period "Your trial".
 */
export function usageCard(usage, { trial = false } = {}) {
  const current = usage?.current ?? null;
  const previous = usage?.previous ?? null;
  const head = h("h2", { id: "usage-title" }, "Use per day");
  const card = (...content) => h("section", { class: "card", "aria-labelledby": "usage-title", dataset: { usage: "" } },
    head, content);
  if (!current || !current.days?.length) {
    return card(h("p", { class: "empty", "data-usage-summary": true }, "Your use per day shows here once a billing period has started."));
  }
  const name = trial ? "your trial" : "this period";
  const now = total(current);
  const before = previous ? total(previous) : null;
  const summary = h("div", { class: "usage-summary", "data-usage-summary": true },
    h("p", {}, now > 0 ? [h("strong", {}, credits(now)), ` used so far in ${name} (${period(current.start, current.end)}).`]
      : `No credits used yet in ${name} (${period(current.start, current.end)}).`),
    h("p", { class: "muted" }, previous
      ? [`Previous period (${period(previous.start, previous.end)}): `, h("strong", {}, credits(before)), "."]
      : "There is no previous period yet."));
  if (now <= 0 && !(before > 0)) {
    return card(summary, h("p", { class: "empty" }, "Each day's use shows here as a bar once your service uses credits."));
  }
  const spans = [current, previous].filter(Boolean);
  const max = Math.max(1, ...spans.flatMap((span) => span.days.map(used)));
  return card(summary,
    h("div", { class: previous ? "usage-charts usage-charts-2" : "usage-charts" },
      chart(current, max, { name: "current", title: trial ? "Your trial" : "This period", current: true }),
      previous ? chart(previous, max, { name: "previous", title: "Previous period", current: false }) : null),
    daysTable(spans));
}
