// Building DOM nodes without innerHTML (so nothing a user typed can become markup), and formatting.

/** Create an element: h("a", {href: "/x", class: "btn"}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "style") {
      el.style.cssText = String(value); // through the CSSOM: the CSP allows no style attributes
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an SVG element (same arguments as h, no event handlers): svg("rect", {x: 0, width: 4}). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") el.style.cssText = String(value); // the CSSOM, as in h
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique element id with a readable prefix. */
export function nextId(prefix = "id") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Formatting ------------------------------------------------------------------------------------

/** "89.00" + "USD" -> "$89.00"; keeps the API's decimal string exact (no float arithmetic). */
export function money(amount, currency = "USD") {
  if (amount === null || amount === undefined) return "—";
  const [whole, cents = "00"] = String(amount).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const symbol = { USD: "$", EUR: "€", GBP: "£" }[currency];
  return symbol ? `${symbol}${grouped}.${cents}` : `${grouped}.${cents} ${currency}`;
}

/** A plan price for people: "Free" or "$89.00 / month". */
export function price(plan) {
  if (plan.price === "0.00") return "Free";
  return `${money(plan.price, plan.currency)} / ${plan.billing_cycle === "yearly" ? "year" : "month"}`;
}

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

/** An ISO date or timestamp as a readable date. */
export function date(value) {
  if (!value) return "—";
  const parsed = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  return Number.isNaN(parsed.getTime()) ? value : dateFormat.format(parsed);
}

/** A period as one readable range: "Dec 1, 2026 – Jan 1, 2027" (or "—" without both ends). */
export function period(start, end) {
  if (!start || !end) return "—";
  const from = new Date(start);
  const to = new Date(end);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${start} – ${end}`;
  return dateFormat.formatRange ? dateFormat.formatRange(from, to) : `${date(start)} – ${date(end)}`;
}

/** An ISO timestamp as a readable date and time (in the viewer's time zone). */
export function dateTime(value) {
  if (!value) return "—";
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? value : dateTimeFormat.format(parsed);
}

/** How long ago a timestamp was: "just now", "5 min", "3 h", "2 days". */
export function age(value, now = Date.now()) {
  const seconds = Math.max(0, (now - new Date(value).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86400);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

/** A number with thousands separators. */
export function count(value) {
  return new Intl.NumberFormat("en").format(value ?? 0);
}

/** "bank_transfer" -> "Bank transfer". */
export function humanize(slug) {
  if (!slug) return "—";
  const text = String(slug).replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });
/** "PK" -> "Pakistan". */
export function countryName(code) {
  if (!code) return "—";
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}

const STATUS_TONES = {
  trial: ["info", "Free trial"],
  pending_payment: ["warning", "Awaiting payment"],
  active: ["success", "Active"],
  past_due: ["warning", "Past due"],
  suspended: ["danger", "Suspended"],
  expired: ["neutral", "Trial ended"],
  cancelled: ["neutral", "Cancelled"],
  partially_paid: ["warning", "Partly paid"],
  pending: ["warning", "Pending"],
  paid: ["success", "Paid"],
  void: ["neutral", "Void"],
  pending_approval: ["info", "Awaiting approval"],
  succeeded: ["success", "Approved"],
  failed: ["danger", "Rejected"],
  reversed: ["warning", "Reversed"],
};

/** A coloured status pill with words, not colour alone. */
export function badge(status) {
  const [tone, label] = STATUS_TONES[status] ?? ["neutral", humanize(status)];
  return h("span", { class: `badge badge-${tone}`, dataset: { status } }, label);
}

/** Show a short message in the corner for a few seconds (announced by screen readers). */
export function toast(message) {
  const holder = document.getElementById("toasts");
  const item = h("div", { class: "toast" }, message);
  holder.append(item);
  while (holder.children.length > 2) holder.firstElementChild.remove();
  setTimeout(() => item.remove(), 4000);
}
