// The link of an admin invitation (/accept-invitation?token=...): choose a password (twice), and the
// new admin is signed in and lands in the console. A used, expired or mistyped link says so.
import { ApiError, api, session } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { navigate } from "../router.js";
import { article } from "../roles.js";

const MIN_PASSWORD = 10;

/** The card that says the link cannot be used, with the API's words when it answered. */
function invalidLink(message) {
  return [
    h("h1", { id: "invitation-title", tabindex: "-1" }, "This invitation link cannot be used"),
    h("p", { class: "alert alert-danger", role: "alert", dataset: { invalidInvitation: "" } }, message),
    h("p", { class: "muted" }, "An invitation link works once, for 48 hours. Ask an owner of the admin team to "
      + "invite you again; if you already chose your password, log in."),
    h("div", { class: "actions" }, h("a", { class: "btn", href: "/login" }, "Log in")),
  ];
}

export function acceptInvitationView(ctx) {
  const token = (ctx.query.get("token") ?? "").trim();
  const card = h("section", { class: "card auth-card", "aria-labelledby": "invitation-title", dataset: { acceptInvitation: "" } });
  // A token is "<email, base64url>.<secret>": anything else was cut or mistyped on the way.
  if (!/^[\w-]+\.[\w-]+$/.test(token)) {
    replace(card, invalidLink("The link is incomplete: open it from the invitation email again, or copy all of it."));
    ctx.show("Invitation", card);
    return;
  }
  const submit = h("button", { class: "btn btn-block", type: "submit" }, "Accept and sign in");
  const form = h("form", { novalidate: true, "aria-labelledby": "invitation-title" },
    formAlert(),
    field({ label: "Password", name: "password", type: "password", autocomplete: "new-password",
      hint: `At least ${MIN_PASSWORD} characters.` }),
    field({ label: "Password again", name: "password_again", type: "password", autocomplete: "new-password" }),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { password = "", password_again: again = "" } = values(form);
    const problems = {};
    if (password.length < MIN_PASSWORD) problems.password = `Use at least ${MIN_PASSWORD} characters`;
    else if (again !== password) problems.password_again = "The two passwords differ: type the same one twice";
    if (Object.keys(problems).length) return showErrors(form, problems);
    try {
      const reply = await busy(submit, "Signing in…", () => api.acceptInvitation(token, password));
      session.start(reply);
      const role = reply.user?.admin_role;
      toast(`Welcome, ${reply.user?.name || reply.user?.email}. You are ${role ? `${article(role)} ${role}` : "an admin"} `
        + "of the admin team.");
      return navigate("/admin", { replace: true });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "invalid_invitation") {
        replace(card, invalidLink(error.message));
        card.querySelector("h1").focus();
        return undefined;
      }
      return showErrors(form, error.fieldErrors, error.message);
    }
  });
  replace(card,
    h("h1", { id: "invitation-title" }, "Join the admin team"),
    session.current ? h("p", { class: "alert alert-info", role: "status" }, "You are signed in as ",
      h("strong", {}, session.user.email), "; accepting signs you in as the invited admin instead.") : null,
    h("p", { class: "muted" }, "You were invited to the admin console of Ledgerline Billing. Choose your password: "
      + "you sign in with it and the email the invitation was sent to."),
    form);
  ctx.show("Accept the invitation", card);
}
