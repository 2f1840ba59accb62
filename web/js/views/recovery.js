// Account recovery and settings: "Forgot password?", the reset link's new password, the
// verification link, and the account page (email verification, change password).
import { ApiError, api, session } from "../api.js";
import { h, toast } from "../dom.js";
import { busy, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { navigate } from "../router.js";

const home = () => (session.isAdmin ? "/admin" : "/dashboard");

function passwordProblems(password, confirm) {
  if ((password ?? "").length < 10) return { password: "Use at least 10 characters" };
  if (!password.trim()) return { password: "Use more than spaces" };
  if (confirm !== undefined && password !== confirm) return { confirm: "The two passwords differ" };
  return {};
}

export function forgotPasswordView(ctx) {
  const submit = h("button", { class: "btn btn-block", type: "submit" }, "Email me a link");
  const done = h("div", { role: "status", "data-reset-sent": true });
  const form = h("form", { novalidate: true, "aria-labelledby": "forgot-title" },
    formAlert(),
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", value: ctx.query.get("email") ?? "" }),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { email = "" } = values(form);
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return showErrors(form, { email: "Enter an email address like name@example.com" });
    try {
      await busy(submit, "Sending…", () => api.requestPasswordReset(email));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showErrors(form, error.fieldErrors, error.message);
    }
    form.hidden = true;
    done.replaceChildren(
      h("p", { class: "alert alert-success" }, "If an account exists for ", h("strong", {}, email),
        ", we sent it a link to reset the password. The link works once, for one hour."),
      h("p", { class: "small muted" }, "No email after a few minutes? Check the spam folder, or ",
        h("a", { href: "/forgot-password" }, "ask again"), "."));
    done.querySelector("p").focus?.();
    return undefined;
  });
  ctx.show("Forgot password", h("section", { class: "card auth-card" },
    h("h1", { id: "forgot-title" }, "Forgot your password?"),
    h("p", { class: "muted" }, "Enter the email you log in with; we send it a link to choose a new password."),
    form, done,
    h("p", { class: "small muted", style: "margin-top:1rem" }, h("a", { href: "/login" }, "Back to log in"))));
}

export function resetPasswordView(ctx) {
  const token = ctx.query.get("token") ?? "";
  const submit = h("button", { class: "btn btn-block", type: "submit" }, "Set the new password");
  const form = h("form", { novalidate: true, "aria-labelledby": "reset-title" },
    formAlert(),
    field({ label: "New password", name: "password", type: "password", autocomplete: "new-password", hint: "At least 10 characters." }),
    field({ label: "Repeat the new password", name: "confirm", type: "password", autocomplete: "new-password" }),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { password = "", confirm = "" } = values(form);
    const problems = passwordProblems(password, confirm);
    if (Object.keys(problems).length) return showErrors(form, problems);
    let reply;
    try {
      reply = await busy(submit, "Saving…", () => api.completePasswordReset(token, password));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "invalid_reset_token") {
        return showErrors(form, {}, "This link is not valid any more (it was used, replaced by a newer one, or is over an hour old). Ask for a new one.");
      }
      return showErrors(form, error.fieldErrors, error.message);
    }
    session.start(reply);
    toast("Your password is changed. Every other session is signed out.");
    return navigate(home(), { replace: true });
  });
  ctx.show("Choose a new password", h("section", { class: "card auth-card" },
    h("h1", { id: "reset-title" }, "Choose a new password"),
    token ? form : h("p", { class: "alert alert-danger" }, "This page needs the link from the email."),
    h("p", { class: "small muted", style: "margin-top:1rem" }, h("a", { href: "/forgot-password" }, "Ask for a new link"))));
}

export async function verifyEmailView(ctx) {
  const token = ctx.query.get("token") ?? "";
  ctx.loading("Verifying your email address…");
  let result = null;
  let problem = token ? null : "This page needs the link from the email.";
  if (token) {
    try {
      result = await api.verifyEmail(token);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      problem = error.code === "invalid_verification_token"
        ? "This link is not valid any more: it was used, replaced by a newer one, or is over 48 hours old."
        : error.message;
    }
  }
  if (result && session.user && session.user.email === result.email) {
    session.updateUser({ ...session.user, email_verified: true });
  }
  const next = session.current ? h("a", { class: "btn", href: home() }, "Continue") : h("a", { class: "btn", href: "/login" }, "Log in");
  ctx.show(result ? "Email verified" : "Email not verified", h("section", { class: "card auth-card" },
    h("h1", {}, result ? "Your email address is verified" : "We could not verify the address"),
    result
      ? h("p", { role: "status" }, h("strong", {}, result.email), " is verified.",
        result.released ? ` The ${result.released === 1 ? "email" : `${result.released} emails`} we held for it are on their way.` : "")
      : h("p", { class: "alert alert-danger", role: "alert" }, problem),
    !result && session.current && !session.isAdmin
      ? h("p", { class: "small" }, "Send a new link from your ", h("a", { href: "/account" }, "account page"), ".") : null,
    h("div", { class: "actions" }, next)));
}

/** The banner on the dashboard while the user's address is not verified, with "Resend". */
export function verifyBanner(user) {
  if (!user || user.email_verified) return null;
  const status = h("p", { class: "small", role: "status" });
  const resend = h("button", { class: "btn btn-secondary", type: "button" }, "Resend the link");
  resend.addEventListener("click", () => resendLink(resend, status));
  return h("section", { class: "banner banner-info", "aria-labelledby": "banner-verify", dataset: { notice: "verify_email" } },
    h("h2", { id: "banner-verify" }, "Please confirm your email address"),
    h("p", {}, "We sent a link to ", h("strong", {}, user.email), ". Until you open it we send that address "
      + "nothing else: your invoices and receipts wait, and the payment instructions are here meanwhile."),
    status,
    h("div", { class: "actions" }, resend));
}

async function resendLink(button, status) {
  try {
    const reply = await busy(button, "Sending…", () => api.resendVerification());
    status.textContent = reply.addresses.length
      ? `A new link is on its way to ${reply.addresses.join(" and ")}. The earlier link no longer works.`
      : "Every address is verified already.";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    status.textContent = error.message;
  }
}

export async function accountView(ctx) {
  if (!session.current) return ctx.requireUser();
  ctx.loading();
  const me = session.isAdmin ? { user: session.user } : await api.me();
  const { user } = me;
  if (!session.isAdmin) session.updateUser(user);
  const submit = h("button", { class: "btn", type: "submit" }, "Change password");
  const form = h("form", { novalidate: true, "aria-labelledby": "password-title" },
    formAlert(),
    field({ label: "Current password", name: "current_password", type: "password", autocomplete: "current-password" }),
    field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password", hint: "At least 10 characters." }),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    const problems = {};
    if (!data.current_password) problems.current_password = "Enter your current password";
    const weak = passwordProblems(data.new_password ?? "").password;
    if (weak) problems.new_password = weak;
    if (Object.keys(problems).length) return showErrors(form, problems);
    try {
      const reply = await busy(submit, "Changing…", () => api.changePassword(data.current_password, data.new_password));
      session.start(reply);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showErrors(form, error.fieldErrors, error.message);
    }
    form.reset();
    toast("Your password is changed. Every other session is signed out.");
    return undefined;
  });
  const status = h("p", { class: "small", role: "status" });
  const resend = h("button", { class: "btn btn-secondary", type: "button" }, "Resend the link");
  resend.addEventListener("click", () => resendLink(resend, status));
  ctx.show("Account", h("div", { class: "stack" },
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Account"), h("p", {}, user.email))),
    h("section", { class: "card", "aria-labelledby": "email-title", dataset: { section: "email" } },
      h("h2", { id: "email-title" }, "Email address"),
      h("p", {}, h("strong", {}, user.email), " — ", user.email_verified ? "verified." : "not verified yet."),
      user.email_verified || session.isAdmin ? null : [h("p", { class: "small muted" },
        "Open the link we sent to confirm it; until then we hold every other email to it."), status,
      h("div", { class: "actions" }, resend)]),
    h("section", { class: "card", "aria-labelledby": "password-title" },
      h("h2", { id: "password-title" }, "Change password"),
      h("p", { class: "small muted" }, "Changing it signs out every other session (other browsers and devices)."),
      form)));
  return undefined;
}
