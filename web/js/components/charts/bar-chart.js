// A bar chart as inline SVG: a bar per category, stacked by series (each its colour and pattern),
// with a label above each bar if asked; each segment a mark holding its exact value (data-value)
// and a <title>. A negative value (a month whose reversals exceed what it collected) draws nothing:
// the table under the chart says it.
import { nextId, svg } from "../../dom.js";
import { pattern } from "./marks.js";
import { FONT, FORMATS, axisRoom, belowRoom, categoryAxis, monthTitle, slots, textWidth, ticks, valueAxis, yOf } from "./scale.js";

const drawn = (raw) => Math.max(0, Number(raw ?? 0) || 0);

/**
 * `categories` (months "YYYY-MM" when `months`, else keys), `labels` (what the axis says of each
 * category that is not a month; `short` ones where they do not all fit), `series` [{key, name,
 * values}] (the API's figures), `format` a key of FORMATS, `yTitle`, `xTitle`, `label` (for screen
 * readers), `above` [{long, short}] per category (the longer that fits its slot is drawn above the
 * bar), `empty` (said across an empty chart). Returns draw(width): the <svg>, `width` px wide.
 */
export function barChart({ categories, labels, short = null, months = false, series, format, yTitle, xTitle, label, above,
  empty, height = 230 }) {
  const kind = FORMATS[format];
  const totals = categories.map((_, i) => series.reduce((sum, item) => sum + drawn(item.values[i]), 0));
  const axis = ticks(Math.max(0, ...totals), { whole: kind.whole });
  const name = (i) => (months ? monthTitle(categories[i]) : labels[i]);
  return (width) => {
    const ids = series.map(() => nextId("fill"));
    const left = axisRoom(axis.ticks, kind);
    const right = width - 10;
    const top = FONT + 14 + (above ? FONT + 4 : 0);
    const bottom = height - belowRoom(months);
    const y = yOf(axis.top, top, bottom);
    const { slot, x } = slots(categories.length, left, right);
    const barWidth = Math.min(56, Math.max(4, slot * 0.64));
    const bars = categories.map((category, i) => {
      let base = 0;
      const segments = series.map((item, k) => {
        const raw = item.values[i];
        if (raw === null || raw === undefined) return null;
        const value = drawn(raw);
        const y0 = y(base);
        base += value;
        const height1 = y0 - y(base);
        return svg("rect", {
          class: "segment", x: x(i) - barWidth / 2, y: y0 - height1, width: barWidth, height: Math.max(0, height1),
          fill: `url(#${ids[k]})`, dataset: { series: item.key, category, value: String(raw) },
        }, svg("title", {}, `${name(i)}, ${item.name}: ${kind.text(raw)}`));
      });
      const note = above?.[i];
      const text = note && [note.long, note.short].find((t) => t !== undefined && textWidth(t) + 4 <= slot);
      return svg("g", { class: "bar", dataset: { category } }, segments,
        text ? svg("text", { class: "bar-label", x: x(i), y: y(base) - 6, "text-anchor": "middle" }, text) : null);
    });
    const nothing = empty && totals.every((total) => total === 0);
    return svg("svg", {
      class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, focusable: "false",
    },
    svg("title", {}, label),
    svg("defs", {}, ids.map((id, k) => pattern(id, k))),
    valueAxis({ scale: y, ticks: axis.ticks, left, right, format: kind, title: yTitle }),
    categoryAxis({ labels: months ? categories : labels, short, months, x, slot, bottom, right, title: xTitle }),
    bars,
    nothing ? svg("text", { class: "chart-empty", x: (left + right) / 2, y: (top + bottom) / 2, "text-anchor": "middle" }, empty) : null);
  };
}
