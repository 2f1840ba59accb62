// What the charts share: round ticks for a value axis, the x positions of the categories, which of
// their labels fit, month labels, and the axis texts (money in USD, counts, hours).
import { count, money, svg } from "../../dom.js";

export const FONT = 12; // px: a chart's viewBox is its width in pixels, so its text is this size
let measure = null; // a canvas's 2D context, to measure texts in the charts' font

/** How wide a text is drawn in the charts' font, in px (about, where there is no canvas). */
export function textWidth(text) {
  if (measure === null) {
    measure = document.createElement("canvas").getContext?.("2d") ?? false;
    if (measure) measure.font = `${FONT}px ${getComputedStyle(document.body).fontFamily}`;
  }
  return measure ? measure.measureText(String(text)).width : String(text).length * 0.6 * FONT;
}

/** Round ticks from 0 to at least `max`: {top, ticks}. `whole`: steps of whole numbers (counts). */
export function ticks(max, { whole = false, count: wanted = 4 } = {}) {
  if (!(max > 0)) return { top: whole ? 4 : 1, ticks: whole ? [0, 1, 2, 3, 4] : [0, 0.25, 0.5, 0.75, 1] };
  const raw = max / wanted;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  if (whole) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(max / step - 1e-9) * step;
  const list = [];
  for (let value = 0; value <= top + step / 1e6; value += step) list.push(Math.round(value * 1e6) / 1e6);
  return { top, ticks: list };
}

/** A value's y in a plot from `top` (px) down to `bottom` (px), for values 0 to `max`. */
export const yOf = (max, top, bottom) => (value) => bottom - (value / max) * (bottom - top);

/** The middles of n equal slots from `left` to `right`: {slot, x(i)}. */
export function slots(n, left, right) {
  const slot = (right - left) / Math.max(1, n);
  return { slot, x: (i) => left + slot * (i + 0.5) };
}

/** Every how many categories a label fits (labels `widest` px wide, a gap of 6 px). */
export const labelStep = (slot, widest) => Math.max(1, Math.ceil((widest + 6) / Math.max(1, slot)));

/** Whether category i of n is labelled, every `step` counted back from the last (always shown). */
export const labelled = (i, n, step) => (n - 1 - i) % step === 0;

const monthShort = new Intl.DateTimeFormat("en", { month: "short", timeZone: "UTC" });
const monthLong = new Intl.DateTimeFormat("en", { month: "long", year: "numeric", timeZone: "UTC" });
const monthDate = (ym) => new Date(`${ym}-01T00:00:00Z`);

/** "2026-03" -> "Mar". */
export const monthName = (ym) => monthShort.format(monthDate(ym));
/** "2026-03" -> "March 2026". */
export const monthTitle = (ym) => monthLong.format(monthDate(ym));

/** A money tick: "$0", "$750", "$2.5k", "$12k", "$1.2M" (USD). */
export function moneyTick(value) {
  const abs = Math.abs(value);
  const sign = value < 0 ? "-" : "";
  const trim = (n) => String(Number(n.toFixed(2)));
  if (abs >= 1e6) return `${sign}$${trim(abs / 1e6)}M`;
  if (abs >= 1e3) return `${sign}$${trim(abs / 1e3)}k`;
  return `${sign}$${trim(abs)}`;
}

/** An exact USD amount, a decimal string: "-89.00" -> "-$89.00". */
export const usd = (raw) => (String(raw).startsWith("-") ? `-${money(String(raw).slice(1), "USD")}` : money(raw, "USD"));

/** Axis texts and the exact texts of values, by kind of figure. */
export const FORMATS = {
  money: { tick: moneyTick, text: usd, whole: false },
  count: { tick: (n) => count(n), text: (raw) => count(raw), whole: true },
  hours: { tick: (n) => `${count(n)} h`, text: (raw) => (raw === null || raw === undefined ? "no decisions" : `${raw} h`), whole: false },
};

/**
 * The value axis (left) and its grid: the ticks' labels and lines across the plot, and the axis's
 * title above it. Returns the SVG group.
 */
export function valueAxis({ scale, ticks: list, left, right, format, title }) {
  return svg("g", { class: "chart-y" },
    svg("text", { class: "axis-title", x: 0, y: FONT }, title),
    list.map((value) => {
      const y = scale(value);
      return svg("g", {},
        svg("line", { class: value === 0 ? "axis" : "grid", x1: left, x2: right, y1: y, y2: y }),
        svg("text", { class: "tick", x: left - 6, y: y + FONT / 3, "text-anchor": "end" }, format.tick(value)));
    }));
}

/** How wide the value axis's labels are, plus room: the plot's left edge. */
export const axisRoom = (list, format) => Math.ceil(Math.max(...list.map((v) => textWidth(format.tick(v))))) + 10;

/**
 * The category axis (below): each label that fits under its slot, a second line with the year for
 * months (at the first label and each January), and the axis's title under them. `short`: labels
 * to draw instead when not all of `labels` fit.
 */
export function categoryAxis({ labels, short = null, months = false, x, slot, bottom, right, title }) {
  let texts = labels.map((label) => (months ? monthName(label) : label));
  const stepOf = (list) => labelStep(slot, Math.max(...list.map(textWidth), months ? textWidth("2026") : 0));
  let step = stepOf(texts);
  if (step > 1 && short) { // the short labels, where the long ones do not all fit
    texts = short;
    step = stepOf(texts);
  }
  let lastYear = null;
  return svg("g", { class: "chart-x" },
    texts.map((text, i) => {
      if (!labelled(i, labels.length, step)) return null;
      const year = months ? labels[i].slice(0, 4) : null;
      const showYear = months && year !== lastYear;
      lastYear = year ?? lastYear;
      return svg("text", { class: "tick", x: x(i), y: bottom + FONT + 6, "text-anchor": "middle", dataset: { label: labels[i] } },
        text, showYear ? svg("tspan", { x: x(i), dy: FONT + 2, class: "tick-year" }, year) : null);
    }),
    title ? svg("text", { class: "axis-title", x: right, y: bottom + (months ? 3 : 2) * FONT + 14, "text-anchor": "end" }, title) : null);
}

/** The space below the plot that the category axis needs. */
export const belowRoom = (months) => (months ? 3 : 2) * FONT + 20;
