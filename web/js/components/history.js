// An entity's history (its audit events) as a timeline: what happened, the status it moved from and
// to, when, by whom, and the notes.
import { badge, dateTime, h, humanize } from "../dom.js";

const BY_THE_CUSTOMER = ["submitted", "proof_attached"];

/** The timeline of events [{at, entity_type, action, actor, from_status, to_status, notes}], oldest
 *  first; `entities` names what each is about ("Subscription: created"), for a page with several. */
export function historyList(history, { entities = false } = {}) {
  if (!history.length) return h("p", { class: "muted" }, "No recorded changes.");
  const what = (event) => (entities && event.entity_type
    ? `${humanize(event.entity_type)}: ${humanize(event.action).toLowerCase()}` : humanize(event.action));
  return h("ol", { class: "timeline" }, history.map((event) => h("li", { dataset: { action: event.action } },
    h("div", {}, h("strong", {}, what(event)), event.to_status ? [" · ",
      event.from_status && event.from_status !== event.to_status ? [badge(event.from_status), " → "] : null,
      badge(event.to_status)] : null),
    h("div", { class: "when" }, `${dateTime(event.at)} by ${BY_THE_CUSTOMER.includes(event.action) ? "the customer" : event.actor}`),
    event.notes ? h("div", { class: "small" }, `“${event.notes}”`) : null)));
}
