// Admin roles in the web app: owner (everything), approver (decides payments, applies statement
// lines), viewer (reads). The role is the signed-in admin's `admin_role`; the API checks it on every
// request (403 insufficient_role), the app only leaves out or disables what the role cannot use.
import { api, session } from "./api.js";
import { h } from "./dom.js";

export const OWNER = "owner";
export const APPROVER = "approver";
export const VIEWER = "viewer";
export const ROLES = [VIEWER, APPROVER, OWNER];
const RANK = { [VIEWER]: 0, [APPROVER]: 1, [OWNER]: 2 };
export const ROLE_NAMES = { [OWNER]: "Owner", [APPROVER]: "Approver", [VIEWER]: "Viewer" };
export const ROLE_DUTIES = {
  [OWNER]: "everything: the team, exchange rates, service keys, credits, suspensions, reversals",
  [APPROVER]: "decides payments and applies statement lines",
  [VIEWER]: "reads everything, decides nothing",
};

// What the API said of this admin's role since the app was loaded (/auth/me once, a 403 names the
// role they hold now): {email, role}. An owner may have changed it since the session began.
let learned = null;

/** The signed-in admin's role (null for a customer or nobody). */
export function adminRole() {
  const user = session.user;
  if (user?.role !== "admin") return null;
  if (learned?.email === user.email) return learned.role;
  return RANK[user.admin_role] === undefined ? VIEWER : user.admin_role;
}

/** Remember the role the API says this admin holds now (from a 403 or /auth/me). */
export function learnRole(role) {
  const user = session.user;
  if (user && RANK[role] !== undefined) learned = { email: user.email, role };
}

/** Ask the API once per load of the app (and per admin signed in) which role the admin holds now;
 *  if it cannot answer, the session's role stands (the API checks every request anyway). */
export async function loadRole() {
  const user = session.user;
  if (user?.role !== "admin" || learned?.email === user.email) return;
  try {
    learnRole((await api.me()).user?.admin_role);
  } catch {
    /* the session's role, until the API answers */
  }
}

/** Whether the signed-in admin holds `least` or more. */
export function can(least) {
  const role = adminRole();
  return role !== null && RANK[role] >= RANK[least];
}

/** "an" before owner and approver, "a" before viewer. */
export const article = (role) => (/^[aeiou]/.test(role ?? "") ? "an" : "a");

/** "Needs the owner role (you are an approver)." */
export function needsText(least) {
  const role = adminRole() ?? VIEWER;
  return `Needs the ${least} role (you are ${article(role)} ${role}).`;
}

/** A button the role may use as it is; otherwise disabled, its title saying which role it needs. */
export function gate(button, least) {
  if (can(least)) return button;
  button.disabled = true;
  button.title = needsText(least);
  button.dataset.needsRole = least;
  button.classList.add("btn-gated");
  return button;
}

/** The note in place of something the role cannot use: "Owners set the rates. You are a viewer." */
export function roleNote(text, least) {
  return h("p", { class: "role-note small", dataset: { needsRole: least } },
    h("span", { class: "badge badge-neutral" }, `Needs the ${least} role`), " ", text, " ",
    h("span", { class: "muted" }, `You are ${article(adminRole() ?? VIEWER)} ${adminRole() ?? VIEWER}.`));
}

/** A role as a badge. */
export function roleBadge(role) {
  const tone = role === OWNER ? "info" : role === APPROVER ? "success" : "neutral";
  return h("span", { class: `badge badge-${tone}`, dataset: { role } }, ROLE_NAMES[role] ?? role);
}

/** The admin navigation for the role: [href, text] pairs. */
export function adminLinks() {
  return [
    ["/admin", "Admin console"],
    ["/admin/accounts", "Accounts"],
    ["/admin/reports", "Reports"],
    ["/admin/fx-rates", "Exchange rates"],
    ["/admin/statements", "Bank statements"],
    ["/admin/webhooks", "Webhooks"],
    can(OWNER) ? ["/admin/team", "Team"] : null,
  ].filter(Boolean);
}
