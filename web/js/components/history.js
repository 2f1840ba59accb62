// An entity's history (its audit events) as a timeline: what happened, the status it moved from and
// to, when, by whom, and the notes.
import { badge, dateTime, h, humanize } from "../dom.js";

const BY_THE_CUSTOMER = ["submitted", "proof_attached"];
const PROOF_TYPES = { "image/png": "PNG", "image/jpeg": "JPEG", "application/pdf": "PDF" };

/** "image/png, 498047 bytes" (a receipt's event) -> "PNG, 486 KB". */
function proofNote(notes) {
  const found = /^([\w.+-]+\/[\w.+-]+), (\d+) bytes$/.exec(notes ?? "");
  if (!found) return null;
  const kb = Math.max(1, Math.round(Number(found[2]) / 1024));
  return `${PROOF_TYPES[found[1]] ?? found[1]}, ${kb >= 1024 ? `${(kb / 1024).toFixed(1)} MB` : `${kb} KB`}`;
}

/** The timeline of events [{at, entity_type, action, actor, from_status, to_status, notes}], oldest
 *  first; `entities` names what each is about ("Subscription: created"), for a page with several. */
export function historyList(history, { entities = false } = {}) {
  if (!history.length) return h("p", { class: "muted" }, "No recorded changes.");
  const what = (event) => {
    const proof = event.action === "proof_attached" ? proofNote(event.notes) : null;
    if (proof) return `Receipt attached (${proof})`;
    return entities && event.entity_type
      ? `${humanize(event.entity_type)}: ${humanize(event.action).toLowerCase()}` : humanize(event.action);
  };
  return h("ol", { class: "timeline" }, history.map((event) => h("li", { dataset: { action: event.action } },
    h("div", {}, h("strong", {}, what(event)), event.to_status ? [" · ",
      event.from_status && event.from_status !== event.to_status ? [badge(event.from_status), " → "] : null,
      badge(event.to_status)] : null),
    h("div", { class: "when" }, `${dateTime(event.at)} by ${BY_THE_CUSTOMER.includes(event.action) ? "the customer" : event.actor}`),
    event.notes && !(event.action === "proof_attached" && proofNote(event.notes))
      ? h("div", { class: "small" }, `“${event.notes}”`) : null)));
}
