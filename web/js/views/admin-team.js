// The admin team (owners): every admin with their role and status (invited, active, disabled), an
// invitation form (email, name, role), a role to change in place, and disable / enable after
// confirming. The API keeps the last active owner (409 last_owner), and says so here.
import { ApiError, api, idempotencyKeys, session } from "../api.js";
import { date, dateTime, h, nextId, replace, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { render } from "../router.js";
import { confirmDialog } from "../components/dialog.js";
import { APPROVER, OWNER, ROLES, ROLE_DUTIES, ROLE_NAMES, VIEWER, article, learnRole } from "../roles.js";

const ROLE_OPTIONS = [APPROVER, VIEWER, OWNER].map((role) => [role, ROLE_NAMES[role]]);

/** Invited (not accepted yet, or expired), disabled, or active. */
function statusOf(admin) {
  if (admin.disabled) return "disabled";
  if (admin.invited) return new Date(admin.invitation_expires_at) < new Date() ? "expired" : "invited";
  return "active";
}

const STATUS_BADGES = {
  active: ["success", "Active"], invited: ["info", "Invited"], expired: ["warning", "Invitation expired"],
  disabled: ["neutral", "Disabled"],
};

function statusCell(admin) {
  const status = statusOf(admin);
  const [tone, label] = STATUS_BADGES[status];
  return [h("span", { class: `badge badge-${tone}`, dataset: { adminStatus: status } }, label),
    admin.invited ? h("div", { class: "small muted" }, status === "expired" ? "The link expired on " : "The link works until ",
      dateTime(admin.invitation_expires_at)) : null,
    admin.invited_by ? h("div", { class: "small muted" }, `Invited by ${admin.invited_by}`) : null];
}

function inviteForm(onInvited) {
  const keyFor = idempotencyKeys();
  const submit = h("button", { class: "btn", type: "submit" }, "Send invitation");
  const form = h("form", { novalidate: true, class: "invite-form", "aria-labelledby": "invite-title", dataset: { inviteForm: "" } },
    formAlert(),
    h("div", { class: "invite-fields" },
      field({ label: "Email", name: "email", type: "email", autocomplete: "off" }),
      field({ label: "Name", name: "name", autocomplete: "off" }),
      field({ label: "Role", name: "admin_role", kind: "select", value: APPROVER, options: ROLE_OPTIONS })),
    h("ul", { class: "role-duties small muted" }, [OWNER, APPROVER, VIEWER].map((role) => h("li", {},
      h("strong", {}, ROLE_NAMES[role]), `: ${ROLE_DUTIES[role]}.`))),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    const problems = {};
    if (!data.email) problems.email = "Enter their email address";
    else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(data.email)) problems.email = "Enter an email address like name@example.com";
    if (!data.name) problems.name = "Enter their name";
    if (Object.keys(problems).length) return showErrors(form, problems);
    const body = { email: data.email, name: data.name, admin_role: data.admin_role };
    try {
      const invited = await busy(submit, "Sending…", () => api.inviteAdmin(body, keyFor(body)));
      form.reset();
      toast(`Invited ${invited.email} as ${article(invited.admin_role)} ${invited.admin_role}: the email with their link is on its way.`);
      await onInvited(invited);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showErrors(form, error.code === "email_taken" ? { email: error.message } : error.fieldErrors, error.message);
    }
    return undefined;
  });
  return h("section", { class: "card", "aria-labelledby": "invite-title" },
    h("h2", { id: "invite-title" }, "Invite an admin"),
    h("p", { class: "muted small" }, "They get an email with a link to choose their password. It works once, for 48 hours."),
    form);
}

export async function adminTeamView(ctx) {
  if (!ctx.requireUser({ admin: true })) return;
  ctx.loading();
  const first = await api.admins();
  const alert = h("div", { class: "alert alert-danger", role: "alert", dataset: { teamAlert: "" } });
  const holder = h("div");
  const me = session.user?.email;

  function say(message) {
    alert.textContent = message ?? "";
  }

  async function reload() {
    draw(await api.admins());
  }

  /** A change that may be about the signed-in admin: their own role is reread from the answer. */
  async function changed(admin) {
    if (admin.email !== me) return reload();
    learnRole(admin.disabled ? VIEWER : admin.admin_role);
    return render();
  }

  function roleSelect(admin) {
    const keyFor = idempotencyKeys();
    const id = nextId("role");
    const select = h("select", { id, name: "admin_role", class: "role-select", "aria-label": `Role of ${admin.name || admin.email}`,
      dataset: { roleOf: admin.email } },
    ROLES.slice().reverse().map((role) => h("option", { value: role, selected: role === admin.admin_role }, ROLE_NAMES[role])));
    select.addEventListener("change", async () => {
      say();
      const body = { admin_role: select.value };
      select.disabled = true;
      try {
        const result = await api.changeAdmin(admin.id, body, keyFor({ id: admin.id, ...body }));
        toast(`${result.name || result.email} is now ${article(result.admin_role)} ${result.admin_role}.`);
        await changed(result);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        select.value = admin.admin_role;
        say(error.message);
      } finally {
        select.disabled = false;
      }
    });
    return select;
  }

  async function toggle(admin) {
    const keyFor = idempotencyKeys();
    const disabling = !admin.disabled;
    const who = admin.name || admin.email;
    const result = await confirmDialog({
      title: disabling ? `Disable ${who}?` : `Enable ${who}?`,
      subtitle: admin.email,
      body: h("p", {}, disabling
        ? "They can no longer sign in, and their sessions end (within 30 seconds everywhere). You can enable them again."
        : `They can sign in again, as ${article(admin.admin_role)} ${admin.admin_role}.`),
      confirmLabel: disabling ? "Disable admin" : "Enable admin", busyLabel: disabling ? "Disabling…" : "Enabling…",
      tone: disabling ? "danger" : "primary", name: disabling ? "disable-admin" : "enable-admin",
      onConfirm: () => api.changeAdmin(admin.id, { disabled: disabling }, keyFor({ id: admin.id, disabled: disabling })),
    });
    if (!result) return;
    toast(`${who} is ${disabling ? "disabled" : "enabled"}.`);
    if (disabling && result.email === me) return render(); // their own session ends: the API says so next
    await changed(result);
  }

  function rows(items) {
    return items.map((admin) => {
      const status = statusOf(admin);
      const action = h("button", {
        class: `btn btn-small ${admin.disabled ? "btn-secondary" : "btn-secondary btn-danger-text"}`, type: "button",
        "aria-label": `${admin.disabled ? "Enable" : "Disable"} ${admin.name || admin.email}`, onclick: () => toggle(admin),
      }, admin.disabled ? "Enable" : "Disable");
      return h("tr", { dataset: { admin: admin.email, status } },
        h("td", { "data-label": "Admin", class: "team-who" }, h("div", {},
          h("strong", {}, admin.name || admin.email), admin.email === me ? h("span", { class: "muted" }, " (you)") : null,
          h("div", { class: "small muted" }, admin.email))),
        h("td", { "data-label": "Role" }, roleSelect(admin)),
        h("td", { "data-label": "Status" }, h("div", {}, statusCell(admin))),
        h("td", { "data-label": "Since" }, date(admin.created_at)),
        h("td", { "data-label": "Action" }, action));
    });
  }

  function draw(listing) {
    const items = [...listing.items].sort((a, b) => (a.email < b.email ? -1 : 1));
    const owners = items.filter((a) => a.admin_role === OWNER && !a.disabled && !a.invited).length;
    replace(holder,
      h("p", { class: "muted small" }, `${items.length} admin${items.length === 1 ? "" : "s"}; `
        + `${owners} active owner${owners === 1 ? "" : "s"}. The last active owner cannot be demoted or disabled.`),
      h("div", { class: "table-wrap" }, h("table", { class: "responsive wraps team", "aria-labelledby": "team-title" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Admin"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Status"),
          h("th", { scope: "col" }, "Since"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
        h("tbody", {}, rows(items)))));
  }

  draw(first);
  ctx.show("Team",
    h("p", { class: "small" }, h("a", { href: "/admin" }, "← Admin console")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Team"),
        h("p", {}, "The admins of the console and what each may do. Owners: everything. Approvers: decide payments "
          + "and apply statement lines. Viewers: read only."))),
    inviteForm(() => reload()),
    h("section", { class: "card section-gap", "aria-labelledby": "team-title", dataset: { team: "" } },
      h("h2", { id: "team-title" }, "Admins"),
      alert,
      holder));
}
