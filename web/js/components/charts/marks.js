// How the series of a chart look, so that none is told apart by colour alone: bars get a colour
// and a fill pattern each, lines a colour, a dash and a marker each; and the legend that shows them.
import { h, nextId, svg } from "../../dom.js";

// Colour-blind-safe (Okabe-Ito, darkened where needed to stand out on white).
export const COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#a86200", "#56606e"];
const PATTERNS = ["solid", "stripes", "dots", "cross", "back-stripes", "grid"];
const DASHES = [null, "7 4", "2 3"];
const MARKERS = ["circle", "square", "diamond"];

/** The look of series i: {colour, pattern, dash, marker}. */
export const look = (i) => ({
  colour: COLOURS[i % COLOURS.length], pattern: PATTERNS[i % PATTERNS.length],
  dash: DASHES[i % DASHES.length], marker: MARKERS[i % MARKERS.length],
});

/** A <pattern> of series i: its colour with white marks over it (none for the first). */
export function pattern(id, i) {
  const { colour, pattern: kind } = look(i);
  const line = { stroke: "#fff", "stroke-width": 1.6, fill: "none" };
  const marks = {
    solid: [],
    stripes: [svg("path", { d: "M-2 2 L2 -2 M0 8 L8 0 M6 10 L10 6", ...line })],
    "back-stripes": [svg("path", { d: "M-2 6 L2 10 M0 0 L8 8 M6 -2 L10 2", ...line })],
    dots: [svg("circle", { cx: 2, cy: 2, r: 1.4, fill: "#fff" }), svg("circle", { cx: 6, cy: 6, r: 1.4, fill: "#fff" })],
    cross: [svg("path", { d: "M0 0 L8 8 M8 0 L0 8", ...line, "stroke-width": 1.1 })],
    grid: [svg("path", { d: "M4 0 V8 M0 4 H8", ...line, "stroke-width": 1.3 })],
  }[kind];
  return svg("pattern", { id, width: 8, height: 8, patternUnits: "userSpaceOnUse" },
    svg("rect", { width: 8, height: 8, fill: colour }), marks);
}

/** The point marker of series i at (x, y), with `children` (its <title>). */
export function marker(i, x, y, attrs = {}, ...children) {
  const { colour, marker: kind } = look(i);
  if (kind === "square") return svg("rect", { x: x - 4, y: y - 4, width: 8, height: 8, fill: colour, ...attrs }, children);
  if (kind === "diamond") {
    const d = `M${x} ${y - 5} L${x + 5} ${y} L${x} ${y + 5} L${x - 5} ${y} Z`;
    return svg("path", { d, fill: colour, ...attrs }, children);
  }
  return svg("circle", { cx: x, cy: y, r: 4, fill: "#fff", stroke: colour, "stroke-width": 2.5, ...attrs }, children);
}

/** A legend swatch: a patterned square (bars) or a line with its marker (lines). */
function swatch(i, kind) {
  if (kind === "line") {
    const { colour, dash } = look(i);
    return svg("svg", { class: "swatch-svg", viewBox: "0 0 30 12", width: 30, height: 12, "aria-hidden": "true", focusable: "false" },
      svg("line", { x1: 1, x2: 29, y1: 6, y2: 6, stroke: colour, "stroke-width": 2.5, "stroke-dasharray": dash }),
      marker(i, 15, 6));
  }
  const id = nextId("swatch");
  return svg("svg", { class: "swatch-svg", viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true", focusable: "false" },
    svg("defs", {}, pattern(id, i)),
    svg("rect", { x: 0.5, y: 0.5, width: 15, height: 15, rx: 2, fill: `url(#${id})`, stroke: look(i).colour }));
}

/** The legend: each series' swatch and name, in the order of the series. */
export function legend(series, kind) {
  return h("ul", { class: "chart-legend" }, series.map((item, i) => h("li", { dataset: { series: item.key } },
    swatch(i, kind), h("span", {}, item.name))));
}
