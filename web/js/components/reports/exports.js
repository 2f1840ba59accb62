// The owner's CSV exports (GET /billing/admin/exports/<name>.csv): a range of days and a button per
// file. The route needs the admin's token, so the file is fetched and saved from an object URL (a
// link with `download`); a file too large for one response comes as a link to S3, opened instead.
import { ApiError, api } from "../../api.js";
import { count, dateTime, h, replace } from "../../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../../forms.js";

export const EXPORTS = [
  ["invoices", "Invoices"],
  ["payments", "Payments"],
  ["ledger", "Credit ledger"],
  ["money-ledger", "Money ledger"],
];

/** This month's first and last days (UTC, as the API counts days). */
function thisMonth() {
  const now = new Date();
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  return [`${now.toISOString().slice(0, 8)}01`, last.toISOString().slice(0, 10)];
}

const size = (bytes) => (bytes < 1024 ? `${count(bytes)} bytes`
  : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`);

/** Save `href` as `filename`, as a click on a download link does. */
function save(href, filename) {
  const link = h("a", { href, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

/** The "Export CSV files" card (owners). */
export function exportCard() {
  const [first, last] = thisMonth();
  const status = h("p", { class: "export-status small", role: "status", dataset: { exportStatus: "" } });
  const form = h("form", { novalidate: true, class: "export-form", "aria-labelledby": "export-title" },
    formAlert(),
    h("div", { class: "range-fields" },
      field({ label: "From", name: "from", type: "date", value: first }),
      field({ label: "To", name: "to", type: "date", value: last })),
    h("p", { class: "small muted" }, "Whole days in UTC, both included, at most 366 days. An item is in the file by the day it was made."),
    h("div", { class: "export-buttons" }, EXPORTS.map(([name, label]) => h("button", {
      class: "btn btn-secondary", type: "button", dataset: { export: name }, onclick: (event) => download(event.currentTarget, name),
    }, `${label} CSV`))),
    status);
  form.addEventListener("submit", (event) => event.preventDefault());

  async function download(button, name) {
    clearErrors(form);
    replace(status);
    const { from, to } = values(form);
    if (!from || !to) {
      return showErrors(form, { ...(from ? {} : { from: "Choose the first day" }), ...(to ? {} : { to: "Choose the last day" }) });
    }
    const filename = `${name}-${from}-${to}.csv`;
    try {
      const file = await busy(button, "Preparing…", () => api.exportCsv(name, from, to));
      if (file.type.startsWith("application/json")) { // too large for one response: a link to S3
        const link = JSON.parse(await file.text());
        save(link.url, filename);
        replace(status, `${filename} is ${size(link.bytes)} (${count(link.rows)} rows): it downloads from `,
          h("a", { href: link.url, download: filename, dataset: { exportLink: name } }, "this link"),
          `, valid until ${dateTime(link.expires_at)}.`);
      } else {
        const href = URL.createObjectURL(file);
        save(href, filename);
        setTimeout(() => URL.revokeObjectURL(href), 60_000);
        replace(status, `Downloaded ${filename} (${size(file.size)}).`);
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = error.fieldErrors;
      showErrors(form, fields, Object.keys(fields).length ? null : error.message);
    }
    return undefined;
  }

  return h("section", { class: "card section-gap", "aria-labelledby": "export-title", dataset: { exports: "" } },
    h("h2", { id: "export-title" }, "Export CSV files"),
    h("p", {}, "Invoices, payments, the credit ledger and the money ledger of a range of days, as CSV files for a "
      + "spreadsheet or your accounting. They hold every customer's billing details: only owners export them."),
    form);
}
