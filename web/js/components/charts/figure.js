// A chart as a figure: its title, its legend, the SVG drawn at the width the figure gets (drawn
// again when that changes, so its text stays the same size and its labels never overlap), and the
// same figures as a table, in a <details> that is open on wider screens and closed on a phone.
import { h, replace } from "../../dom.js";

const WIDE = window.matchMedia("(min-width: 720px)");
const redraws = new WeakMap();
const resized = new ResizeObserver((entries) => {
  for (const entry of entries) redraws.get(entry.target)?.();
});

/** A first guess of a plot's width, before the page lays it out: the main column's, or half. */
function guess(half) {
  const column = Math.min(document.documentElement.clientWidth, 1080) - 32 - 42;
  return Math.max(260, Math.round(half && WIDE.matches ? (column - 20) / 2 : column));
}

/**
 * `name` (data-chart), `title`, `legend` (an element or null), `draw(width)` (the <svg>), `table`
 * (the figures' <table>), `note` (a line under the chart), `half` (drawn half the column wide on
 * wider screens).
 */
export function chartFigure({ name, title, legend = null, draw, table, note = null, half = false }) {
  const plot = h("div", { class: "chart-plot" });
  let width = guess(half);
  replace(plot, draw(width));
  redraws.set(plot, () => {
    const now = Math.floor(plot.clientWidth);
    if (now > 0 && Math.abs(now - width) >= 2) {
      width = now;
      replace(plot, draw(width));
    }
  });
  resized.observe(plot);
  return h("figure", { class: "chart", dataset: { chart: name } },
    h("figcaption", { class: "chart-title" }, title),
    legend,
    plot,
    note ? h("p", { class: "chart-note small muted" }, note) : null,
    h("details", { class: "chart-table", open: WIDE.matches },
      h("summary", {}, "The figures as a table"),
      // A table of many months scrolls sideways on a phone: a labelled region the keyboard reaches
      h("div", { class: "table-wrap scroll-region", tabindex: "0", role: "region",
                 "aria-label": `${title}: the figures (scrolls sideways)` }, table)));
}

/**
 * The figures of a chart as a table: `caption`, `columns` [{label, num}] (the first heads the
 * rows), `rows` [{key, head, cells: [{text, value, series}]}], `foot` (a row like the others, or
 * null). Each cell keeps the API's exact value in data-value.
 */
export function figuresTable({ caption, columns, rows, foot = null }) {
  const row = (item, tag = "tr") => h(tag, { dataset: { row: item.key } },
    h("th", { scope: "row" }, item.head),
    item.cells.map((cell, i) => h("td", {
      class: columns[i + 1]?.num ? "num" : null,
      dataset: { series: cell.series, value: cell.value === undefined || cell.value === null ? "" : String(cell.value) },
    }, cell.text)));
  return h("table", { class: "figures" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col", class: column.num ? "num" : null }, column.label)))),
    h("tbody", {}, rows.map((item) => row(item))),
    foot ? h("tfoot", {}, row(foot)) : null);
}
