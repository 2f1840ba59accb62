// The admin console's service keys: the keys the SaaS's own backend uses to consume and release
// customers' credits. A new key's secret is shown once, in a box to copy it from; a key can be revoked.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { dateTime, h, replace, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { confirmDialog } from "../components/dialog.js";
import { secretBox } from "../components/secret-box.js";

/** The secret of a key just created, with a Copy button and the warning that it is not shown again. */
function keySecretBox(created, onDone) {
  return secretBox({
    id: "new-key-secret", secret: created.key, noun: "key", label: "Service key", onDone,
    dataset: { newKey: created.id }, title: `Copy the key “${created.name}” now`,
    warning: "Only a hash of it is kept, so nobody can show it again. Store it where your backend reads its secrets; "
      + "if it is lost, revoke it and create another.",
  });
}

function keyRows(items, onRevoke) {
  return items.map((key) => h("tr", { dataset: { serviceKey: key.id, revoked: key.revoked_at ? "true" : "false" } },
    h("td", { "data-label": "Name" }, h("div", {}, h("strong", {}, key.name), h("div", { class: "small muted mono" }, key.id))),
    h("td", { "data-label": "Created" }, dateTime(key.created_at)),
    h("td", { "data-label": "Created by" }, key.created_by ?? "—"),
    h("td", { "data-label": "Last used" }, key.last_used_at ? dateTime(key.last_used_at) : h("span", { class: "muted" }, "Never")),
    h("td", { "data-label": "Status" }, key.revoked_at
      ? h("span", {}, h("span", { class: "badge badge-neutral" }, "Revoked"), h("div", { class: "small muted" }, dateTime(key.revoked_at)))
      : h("span", { class: "badge badge-success" }, "Active")),
    h("td", { "data-label": "Action" }, key.revoked_at ? h("span", { class: "muted" }, "—")
      : h("button", {
        class: "btn btn-secondary btn-small", type: "button", "aria-label": `Revoke ${key.name}`,
        onclick: () => onRevoke(key),
      }, "Revoke"))));
}

/** The "Service keys" section: the list, "Create key", and "Revoke" (after confirming). */
export function serviceKeysSection(first) {
  const secretHolder = h("div", { "aria-live": "polite" });
  const listHolder = h("div");

  function drawList(listing) {
    if (listing.error) {
      return replace(listHolder, h("p", { class: "alert alert-danger", role: "alert" },
        `The service keys could not be loaded: ${listing.error.message}`));
    }
    if (!listing.items.length) return replace(listHolder, h("p", { class: "empty" }, "No service keys yet."));
    return replace(listHolder, h("div", { class: "table-wrap" }, h("table", { class: "responsive", "aria-labelledby": "keys-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Created by"),
        h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
      h("tbody", {}, keyRows(listing.items, onRevoke)))));
  }

  async function reload() {
    try {
      drawList(await api.serviceKeys());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      drawList({ error });
    }
  }

  async function onRevoke(key) {
    const revoked = await confirmDialog({
      title: `Revoke “${key.name}”?`,
      subtitle: `Key ${key.id}`,
      body: h("p", {}, "Requests with this key are refused from now on (everywhere within a minute). "
        + "This cannot be undone: the backend that uses it needs a new key."),
      confirmLabel: "Revoke key", busyLabel: "Revoking…", tone: "danger", name: "revoke-key",
      onConfirm: async () => {
        await api.revokeServiceKey(key.id);
        return true;
      },
    });
    if (!revoked) return;
    toast(`Revoked ${key.name}.`);
    await reload();
  }

  // A retry of the same request reuses its key; each key made starts a new one (same name or not).
  const keyFor = idempotencyKeys();
  let made = 0;
  const button = h("button", { class: "btn", type: "submit" }, "Create key");
  const form = h("form", { novalidate: true, class: "inline-form", "aria-labelledby": "create-key-title" },
    h("h3", { id: "create-key-title" }, "Create a key"),
    formAlert(),
    field({ label: "Name", name: "name", autocomplete: "off", attrs: { maxlength: 100 },
      hint: "What uses it, e.g. “api-server” or “reporting worker”." }),
    button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { name } = values(form);
    if (!name) return showErrors(form, { name: "Give the key a name" });
    try {
      const created = await busy(button, "Creating…", () => api.createServiceKey(name, keyFor({ name, made })));
      made += 1;
      form.reset();
      replace(secretHolder, keySecretBox(created, () => {
        replace(secretHolder);
        button.focus();
      }));
      secretHolder.querySelector("textarea").focus();
      await reload();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.fieldErrors, error.message);
    }
    return undefined;
  });

  drawList(first);
  return h("section", { class: "card", style: "margin-top:1rem", "aria-labelledby": "keys-title", id: "service-keys" },
    h("div", { class: "card-head" },
      h("h2", { id: "keys-title" }, "Service keys"),
      h("span", { class: "muted small" }, "Newest first")),
    h("p", { class: "muted" }, "Your own backend uses a service key to use and give back customers' credits "
      + "(Authorization: Bearer sk_…). Its secret is shown once, when it is created."),
    h("div", { class: "key-form" }, form), secretHolder, listHolder);
}
