// The admin console's webhooks: the endpoints the SaaS's backend gets events at (URL, description,
// events, status, created), each with its delivery log. Owners add an endpoint (its signing secret
// shown once), rotate its secret (the old one keeps signing for 24 hours) and delete it.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { dateTime, h, replace, toast } from "../dom.js";
import { confirmDialog } from "../components/dialog.js";
import { secretBox } from "../components/secret-box.js";
import { webhookForm } from "../components/webhook-form.js";
import { OWNER, can, roleNote } from "../roles.js";

export const webhookPath = (id) => `/admin/webhooks/${encodeURIComponent(id)}`;

/** "All events", or the types it gets. */
export function eventsText(events) {
  return events.includes("*") ? h("span", { class: "badge badge-info", dataset: { events: "all" } }, "All events")
    : h("ul", { class: "event-list small", dataset: { events: events.join(" ") } },
      events.map((type) => h("li", { class: "mono" }, type)));
}

/** Enabled, or disabled after 3 days of failures; failing since when, if it is. */
export function endpointStatus(endpoint) {
  const enabled = endpoint.status === "enabled";
  return [h("span", { class: `badge badge-${enabled ? "success" : "neutral"}`, dataset: { endpointStatus: endpoint.status } },
    enabled ? "Enabled" : "Disabled"),
  !enabled && endpoint.disabled_at ? h("div", { class: "small muted" }, `Since ${dateTime(endpoint.disabled_at)}, after 3 days of failures`) : null,
  enabled && endpoint.failing_since ? h("div", { class: "small warning-text" }, `Failing since ${dateTime(endpoint.failing_since)}`) : null];
}

function shownSecret(holder, answer, { rotated }) {
  const close = () => replace(holder);
  if (!answer.secret) { // the kept answer of a request sent twice holds no secret
    return replace(holder, h("p", { class: "alert alert-danger", role: "alert" },
      "This answer repeats an earlier request, so its secret is not shown again. Rotate the secret to get a new one."));
  }
  return replace(holder, secretBox({
    id: "webhook-secret", secret: answer.secret, noun: "secret", label: "Signing secret", onDone: close,
    dataset: { newSecret: answer.id, rotated: rotated ? "true" : "false" },
    title: rotated ? `Copy the new secret of ${answer.url} now` : `Copy the signing secret of ${answer.url} now`,
    warning: rotated
      ? ["Events are signed with it from now on. The old secret keeps signing them too until ",
        h("strong", {}, dateTime(answer.previous_secret_valid_until)),
        " (24 hours), so your backend can switch over without missing one."]
      : "Your backend checks each event's Billing-Signature header with it. Nobody can show it again: "
        + "if it is lost, rotate the secret.",
  }));
}

export async function adminWebhooksView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const first = await api.webhooks();
  const owner = can(OWNER);
  const secretHolder = h("div", { class: "webhook-secret-holder", "aria-live": "polite" });
  const alert = h("div", { class: "alert alert-danger", role: "alert", dataset: { webhooksAlert: "" } });
  const holder = h("div");

  async function reload() {
    try {
      draw(await api.webhooks());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      alert.textContent = `The endpoints could not be loaded: ${error.message}`;
    }
  }

  async function onCreated(created) {
    toast(`Added the endpoint ${created.url}.`);
    shownSecret(secretHolder, created, { rotated: false });
    secretHolder.querySelector("textarea")?.focus();
    await reload();
  }

  async function rotate(endpoint) {
    const keyFor = idempotencyKeys();
    const rotated = await confirmDialog({
      title: "Rotate the signing secret?", subtitle: endpoint.url, name: "rotate-secret",
      body: h("p", {}, "A new secret signs the events from now on, and the current one keeps signing them too for "
        + "24 hours: store the new one in your backend within that time."),
      confirmLabel: "Rotate secret", busyLabel: "Rotating…",
      onConfirm: () => api.rotateWebhookSecret(endpoint.id, keyFor({ id: endpoint.id })),
    });
    if (!rotated) return;
    shownSecret(secretHolder, rotated, { rotated: true });
    secretHolder.querySelector("textarea")?.focus();
    await reload();
  }

  async function remove(endpoint) {
    const deleted = await confirmDialog({
      title: "Delete this endpoint?", subtitle: endpoint.url, name: "delete-webhook", tone: "danger",
      body: h("p", {}, "Nothing more is sent to it, and its deliveries still due fail. This cannot be undone: "
        + "to get events there again, add the endpoint again (with a new secret)."),
      confirmLabel: "Delete endpoint", busyLabel: "Deleting…",
      onConfirm: async () => {
        await api.deleteWebhook(endpoint.id);
        return true;
      },
    });
    if (!deleted) return;
    toast(`Deleted the endpoint ${endpoint.url}.`);
    await reload();
  }

  function row(endpoint) {
    const label = endpoint.description || endpoint.url;
    return h("tr", { dataset: { webhook: endpoint.id, url: endpoint.url } },
      h("td", { "data-label": "Endpoint", class: "webhook-endpoint" }, h("div", {},
        h("a", { href: webhookPath(endpoint.id), class: "mono webhook-url" }, endpoint.url),
        endpoint.description ? h("div", {}, endpoint.description) : null,
        h("div", { class: "small muted mono" }, endpoint.id))),
      h("td", { "data-label": "Events" }, eventsText(endpoint.events)),
      h("td", { "data-label": "Status" }, h("div", {}, endpointStatus(endpoint))),
      h("td", { "data-label": "Created" }, h("div", {}, dateTime(endpoint.created_at),
        h("div", { class: "small muted" }, `by ${endpoint.created_by}`))),
      h("td", { "data-label": "Actions" }, h("div", { class: "row-actions" },
        h("a", { class: "btn btn-secondary btn-small", href: webhookPath(endpoint.id), "aria-label": `Delivery log of ${label}` },
          "Delivery log"),
        owner ? h("button", { class: "btn btn-secondary btn-small", type: "button", "aria-label": `Rotate the secret of ${label}`,
          onclick: () => rotate(endpoint) }, "Rotate secret") : null,
        owner ? h("button", { class: "btn btn-secondary btn-small btn-danger-text", type: "button", "aria-label": `Delete ${label}`,
          onclick: () => remove(endpoint) }, "Delete") : null)));
  }

  function draw(listing) {
    alert.textContent = "";
    if (!listing.items.length) {
      return replace(holder, h("p", { class: "empty" }, owner ? "No endpoints yet: add one above." : "No endpoints yet."));
    }
    return replace(holder, h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps webhooks", "aria-labelledby": "webhooks-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Endpoint"), h("th", { scope: "col" }, "Events"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, listing.items.map(row)))));
  }

  draw(first);
  ctx.show("Webhooks",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Webhooks"),
        h("p", {}, "Your backend hears of signups, payments, invoices and plan changes as they happen: each event is "
          + "POSTed to the endpoints that want it, signed with the endpoint's secret, and retried for a day if it fails."))),
    owner ? h("section", { class: "card", "aria-labelledby": "add-webhook-title" },
      h("h2", { id: "add-webhook-title" }, "Add an endpoint"),
      webhookForm(first.event_types, onCreated))
      : roleNote("Owners add endpoints, rotate their secrets, delete them and retry deliveries.", OWNER),
    secretHolder,
    h("section", { class: "card section-gap", "aria-labelledby": "webhooks-title", dataset: { webhooks: "" } },
      h("div", { class: "card-head" },
        h("h2", { id: "webhooks-title" }, "Endpoints"),
        h("span", { class: "muted small" }, "Oldest first")),
      alert,
      holder));
}
