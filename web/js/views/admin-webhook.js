// One webhook endpoint's delivery log: each event sent to it (newest first) with its status,
// attempts, the receiver's last answer and the next attempt; filtered by status. Owners send a
// pending or failed delivery again (the delivery worker's next run makes the attempt).
import { ApiError, api } from "../api.js";
import { count, dateTime, h, replace, toast } from "../dom.js";
import { busy } from "../forms.js";
import { OWNER, can } from "../roles.js";
import { endpointStatus, eventsText, webhookPath } from "./admin-webhooks.js";

const PAGE = 25;
const STATUSES = ["pending", "delivered", "failed"];
const TONES = { pending: ["warning", "Pending"], delivered: ["success", "Delivered"], failed: ["danger", "Failed"] };

function statusCell(delivery) {
  const [tone, label] = TONES[delivery.status] ?? ["neutral", delivery.status];
  return [h("span", { class: `badge badge-${tone}`, dataset: { deliveryStatus: delivery.status } }, label),
    // the receiver's status says it all when there is one; otherwise why there is none (a timeout, …)
    delivery.last_error && delivery.last_status === null
      ? h("div", { class: "small muted", dataset: { lastError: "" } }, delivery.last_error) : null];
}

function responseCell(delivery) {
  if (delivery.last_status === null) return h("span", { class: "muted" }, delivery.attempts ? "No answer" : "Not sent yet");
  const ok = delivery.last_status >= 200 && delivery.last_status < 300;
  return h("div", {}, h("span", { class: `mono ${ok ? "" : "danger-text"}`, dataset: { lastStatus: delivery.last_status } },
    String(delivery.last_status)),
  delivery.last_response ? h("div", { class: "small muted response-body", title: delivery.last_response },
    delivery.last_response.length > 80 ? `${delivery.last_response.slice(0, 80)}…` : delivery.last_response) : null);
}

function nextAttempt(delivery) {
  if (!delivery.next_attempt_at) return h("span", { class: "muted" }, "—");
  return new Date(delivery.next_attempt_at) <= new Date() ? h("strong", {}, "Due now") : dateTime(delivery.next_attempt_at);
}

function deliveryRow(delivery, onRetry) {
  const retry = onRetry && delivery.status !== "delivered"
    ? h("button", { class: "btn btn-secondary btn-small", type: "button", "aria-label": `Retry ${delivery.event_type} ${delivery.event_id}`,
      onclick: (event) => onRetry(delivery, event.currentTarget) }, "Retry")
    : null;
  return h("tr", { dataset: { delivery: delivery.id, event: delivery.event_id, status: delivery.status } },
    h("td", { "data-label": "Event", class: "delivery-event" }, h("div", {}, h("strong", { class: "mono" }, delivery.event_type),
      h("div", { class: "small muted mono" }, delivery.event_id))),
    h("td", { "data-label": "Status", class: "delivery-status" }, h("div", {}, statusCell(delivery))),
    h("td", { "data-label": "Attempts", class: "num delivery-meta" }, count(delivery.attempts)),
    h("td", { "data-label": "Last response", class: "delivery-meta" }, responseCell(delivery)),
    h("td", { "data-label": "Last attempt", class: "delivery-meta" },
      delivery.last_attempt_at ? dateTime(delivery.last_attempt_at) : h("span", { class: "muted" }, "—")),
    h("td", { "data-label": "Next attempt", class: "delivery-meta" }, nextAttempt(delivery)),
    onRetry ? h("td", { "data-label": "Action", class: retry ? "delivery-action" : "delivery-action no-action" },
      retry ?? h("span", { class: "muted" }, "—")) : null);
}

function summary(endpoint) {
  return h("section", { class: "card", "aria-label": "Endpoint", dataset: { endpoint: endpoint.id } },
    h("dl", { class: "kv" },
      h("dt", {}, "URL"), h("dd", { class: "mono" }, endpoint.url),
      endpoint.description ? [h("dt", {}, "Description"), h("dd", {}, endpoint.description)] : null,
      h("dt", {}, "Events"), h("dd", {}, eventsText(endpoint.events)),
      h("dt", {}, "Status"), h("dd", {}, endpointStatus(endpoint)),
      h("dt", {}, "Created"), h("dd", {}, dateTime(endpoint.created_at),
        h("div", { class: "small muted" }, `by ${endpoint.created_by}`))));
}

export async function adminWebhookView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const id = ctx.params.id;
  const wanted = ctx.query.get("status");
  const status = STATUSES.includes(wanted) ? wanted : "";
  const first = await api.webhookDeliveries(id, { status, limit: PAGE });
  const owner = can(OWNER);
  const alert = h("div", { class: "alert alert-danger", role: "alert", dataset: { deliveriesAlert: "" } });
  const summaryHolder = h("div", {}, summary(first.endpoint));
  const body = h("tbody");
  const empty = h("p", { class: "empty" });
  const more = h("button", { class: "btn btn-secondary", type: "button" }, "More deliveries");
  const refresh = h("button", { class: "btn btn-secondary btn-small", type: "button" }, "Refresh");
  const table = h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps deliveries", "aria-labelledby": "deliveries-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Attempts"),
      h("th", { scope: "col" }, "Last response"), h("th", { scope: "col" }, "Last attempt"), h("th", { scope: "col" }, "Next attempt"),
      owner ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")) : null)),
    body));
  let cursor = null;

  async function onRetry(delivery, button) {
    alert.textContent = "";
    try {
      const due = await busy(button, "Retrying…", () => api.retryWebhookDelivery(id, delivery.id));
      body.querySelector(`tr[data-delivery="${CSS.escape(delivery.id)}"]`)?.replaceWith(deliveryRow(due, onRetry));
      toast(`${delivery.event_type} is due again: the delivery worker sends it on its next run.`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      alert.textContent = error.message;
    }
  }

  function draw(page) {
    replace(summaryHolder, summary(page.endpoint));
    replace(body, page.items.map((delivery) => deliveryRow(delivery, owner ? onRetry : null)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    table.hidden = !page.items.length;
    empty.hidden = Boolean(page.items.length);
    empty.textContent = status ? `No ${TONES[status][1].toLowerCase()} deliveries.`
      : "No deliveries yet: events are sent here as they happen.";
  }

  refresh.addEventListener("click", async () => {
    alert.textContent = "";
    try {
      draw(await busy(refresh, "Refreshing…", () => api.webhookDeliveries(id, { status, limit: PAGE })));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      alert.textContent = error.message;
    }
  });
  more.addEventListener("click", async () => {
    const page = await busy(more, "Loading…", () => api.webhookDeliveries(id, { status, cursor, limit: PAGE }));
    body.append(...page.items.map((delivery) => deliveryRow(delivery, owner ? onRetry : null)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });

  const tab = (key, label) => h("a", {
    class: "tab", href: key ? `${webhookPath(id)}?status=${key}` : webhookPath(id),
    "aria-current": key === status ? "page" : null, dataset: { tab: key || "all" },
  }, label);
  draw(first);
  ctx.show("Delivery log",
    h("p", { class: "small" }, h("a", { href: "/admin/webhooks" }, "← Webhooks")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Delivery log"),
        h("p", {}, "Each event sent to this endpoint. A delivery that is not answered with a 2xx is tried again after "
          + "1 min, 5 min, 30 min, 2 h, 6 h and 24 h, then marked failed."))),
    summaryHolder,
    h("section", { class: "card section-gap", "aria-labelledby": "deliveries-title", dataset: { deliveries: "" } },
      h("div", { class: "card-head" }, h("h2", { id: "deliveries-title" }, "Deliveries"),
        h("span", { class: "head-actions" }, h("span", { class: "muted small" }, "Newest first"), refresh)),
      h("nav", { class: "tabs", "aria-label": "Deliveries by status" },
        tab("", "All"), STATUSES.map((key) => tab(key, TONES[key][1]))),
      alert, table, empty,
      h("div", { class: "actions" }, more)));
}
