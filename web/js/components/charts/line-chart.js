// A line chart of months as inline SVG: one line per series (its colour, dash and marker), broken
// where a month has no value; each point a mark holding its exact value (data-value) and a <title>.
import { svg } from "../../dom.js";
import { look, marker } from "./marks.js";
import { FONT, FORMATS, axisRoom, belowRoom, categoryAxis, monthTitle, slots, ticks, valueAxis, yOf } from "./scale.js";

const missing = (value) => value === null || value === undefined;

/**
 * `months` ("YYYY-MM", oldest first), `series` [{key, name, values}] (the API's figures: decimal
 * strings, numbers or null), `format` a key of FORMATS, `yTitle`, `xTitle`, `label` (what the
 * chart shows, for screen readers). Returns draw(width): the <svg>, `width` px wide.
 */
export function lineChart({ months, series, format, yTitle, xTitle = "Month", label, height = 230 }) {
  const kind = FORMATS[format];
  const numbers = series.map((item) => item.values.map((v) => (missing(v) ? null : Number(v))));
  const max = Math.max(0, ...numbers.flat().filter((v) => v !== null));
  const axis = ticks(max, { whole: kind.whole });
  return (width) => {
    const left = axisRoom(axis.ticks, kind);
    const right = width - 10;
    const top = FONT + 14;
    const bottom = height - belowRoom(true);
    const y = yOf(axis.top, top, bottom);
    const { slot, x } = slots(months.length, left, right);
    const lines = series.map((item, k) => {
      const { colour, dash } = look(k);
      let path = "";
      let open = false;
      numbers[k].forEach((value, i) => {
        if (value === null) {
          open = false;
          return;
        }
        path += `${open ? "L" : "M"}${x(i).toFixed(1)} ${y(value).toFixed(1)} `;
        open = true;
      });
      const points = item.values.map((raw, i) => (missing(raw) ? null
        : marker(k, x(i), y(numbers[k][i]), {
          class: "point", dataset: { series: item.key, month: months[i], value: String(raw) },
        }, svg("title", {}, `${item.name}, ${monthTitle(months[i])}: ${kind.text(raw)}`))));
      return svg("g", { class: "series", dataset: { series: item.key } },
        path ? svg("path", { class: "line", d: path.trim(), stroke: colour, "stroke-dasharray": dash }) : null,
        points);
    });
    return svg("svg", {
      class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, focusable: "false",
    },
    svg("title", {}, label),
    valueAxis({ scale: y, ticks: axis.ticks, left, right, format: kind, title: yTitle }),
    categoryAxis({ labels: months, months: true, x, slot, bottom, right, title: xTitle }),
    lines);
  };
}
