// "Add an endpoint" (owners): the URL events are POSTed to, what it is for, and its events: all of
// them (also types added later) or the ones ticked, grouped by what they are about. The API's
// refusal (an address it does not send to, an unknown type) lands under the field it is about.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { h, humanize, nextId } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";

const ABOUT = {
  "account.created": "an account signs up",
  "account.status_changed": "an account becomes active, past due, suspended…",
  "subscription.activated": "a plan starts (paid or approved)",
  "subscription.renewed": "a new period begins",
  "subscription.past_due": "a renewal is unpaid at its due date",
  "subscription.suspended": "an unpaid or held account is suspended",
  "subscription.cancelled": "a plan ends at its cancellation",
  "subscription.plan_changed": "an upgrade or a downgrade takes effect",
  "invoice.created": "an invoice is issued",
  "invoice.paid": "an invoice is paid in full",
  "invoice.voided": "an invoice is voided",
  "payment.submitted": "a customer confirms a payment",
  "payment.approved": "an admin approves a payment",
  "payment.rejected": "an admin rejects a payment",
  "payment.reversed": "an owner reverses a payment",
  "credits.low": "an allowance falls below 10%",
  "credits.exhausted": "an allowance is used up",
};

/** The event types by what they are about: [["Account", [...]], ["Subscription", [...]], ...]. */
function groups(types) {
  const byTopic = new Map();
  for (const type of types) {
    const topic = type.split(".")[0];
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic).push(type);
  }
  return [...byTopic].map(([topic, list]) => [humanize(topic), list]);
}

function eventsField(types) {
  const id = nextId("events");
  const all = h("input", { type: "checkbox", name: "all_events", value: "*", checked: true, id: `${id}-all`,
    "aria-describedby": `${id}-all-hint` });
  const chosen = h("fieldset", { class: "event-groups", disabled: true, hidden: true, "aria-describedby": `${id}-error` },
    h("legend", { class: "visually-hidden" }, "Only these events"),
    groups(types).map(([topic, list]) => h("div", { class: "event-group" },
      h("p", { class: "event-topic" }, topic),
      list.map((type) => {
        const boxId = nextId("event");
        return h("div", { class: "check-row" },
          h("input", { type: "checkbox", name: "events", value: type, id: boxId, "aria-describedby": `${boxId}-about` }),
          h("label", { for: boxId }, h("span", { class: "mono" }, type),
            ABOUT[type] ? h("span", { class: "small muted", id: `${boxId}-about` }, ABOUT[type]) : null));
      }))));
  all.addEventListener("change", () => {
    chosen.disabled = all.checked;
    chosen.hidden = all.checked;
  });
  return h("div", { class: "field events-field", dataset: { field: "events" } },
    h("span", { class: "legend", id: `${id}-legend` }, "Events"),
    h("div", { class: "check-row check-all" }, all,
      h("label", { for: all.id }, h("strong", {}, "All events"),
        h("span", { class: "small muted", id: `${id}-all-hint` }, "Every type, also the ones added later. Untick to choose."))),
    chosen,
    h("span", { class: "error", id: `${id}-error` }));
}

/** The form; `onCreated(endpoint)` gets the API's answer, with the secret shown this once. */
export function webhookForm(types, onCreated) {
  const keyFor = idempotencyKeys();
  let made = 0;
  const submit = h("button", { class: "btn", type: "submit" }, "Add endpoint");
  const form = h("form", { novalidate: true, class: "webhook-form", "aria-labelledby": "add-webhook-title", dataset: { webhookForm: "" } },
    formAlert(),
    h("div", { class: "form-row" },
      field({ label: "URL", name: "url", type: "url", autocomplete: "off", inputmode: "url",
        attrs: { maxlength: 2000, placeholder: "https://" },
        hint: "Where the events are POSTed: https, to a public address." }),
      field({ label: "Description", name: "description", optional: true, autocomplete: "off",
        attrs: { maxlength: 200 }, hint: "What it is for, e.g. “provisioning service”." })),
    eventsField(types),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    const all = form.elements.namedItem("all_events").checked;
    const events = all ? ["*"] : [...form.querySelectorAll("input[name=events]:checked")].map((box) => box.value);
    const problems = {};
    if (!data.url) problems.url = "Enter the URL of your endpoint";
    else if (!/^https?:\/\/\S+$/i.test(data.url)) problems.url = "Enter a URL that starts with https://";
    if (!events.length) problems.events = "Tick the events to send, or All events";
    if (Object.keys(problems).length) return showErrors(form, problems);
    const body = { url: data.url, events, ...(data.description ? { description: data.description } : {}) };
    try {
      const created = await busy(submit, "Adding…", () => api.createWebhook(body, keyFor({ ...body, made })));
      made += 1;
      form.reset();
      form.elements.namedItem("all_events").dispatchEvent(new Event("change"));
      await onCreated(created);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.fieldErrors, error.message);
    }
    return undefined;
  });
  return form;
}
