// The app's entry: the navigation, the screens of each path, and what happens on errors.
import { ApiError, session } from "./api.js";
import { h, replace } from "./dom.js";
import { isCurrent, navigate, route, match, start } from "./router.js";
import { loginView, logoutView, signupView } from "./views/auth.js";
import { accountView, forgotPasswordView, resetPasswordView, verifyEmailView } from "./views/recovery.js";
import { dashboardView } from "./views/dashboard.js";
import { billingView, invoiceView } from "./views/billing.js";
import { plansView } from "./views/plans.js";
import { creditsView } from "./views/credits.js";
import { adminConsoleView, adminPaymentView } from "./views/admin.js";
import { adminAccountView } from "./views/admin-account.js";
import { adminAccountsView } from "./views/admin-accounts.js";
import { adminTeamView } from "./views/admin-team.js";
import { acceptInvitationView } from "./views/accept-invitation.js";
import { adminLinks, learnRole, loadRole } from "./roles.js";
import { adminRatesView } from "./views/admin-rates.js";
import { adminStatementsView } from "./views/admin-statements.js";
import { adminStatementView } from "./views/admin-statement.js";
import { adminWebhooksView } from "./views/admin-webhooks.js";
import { adminWebhookView } from "./views/admin-webhook.js";
import { adminReportsView } from "./views/admin-reports.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");

route("/", homeView);
route("/login", loginView);
route("/logout", logoutView);
route("/signup", signupView);
route("/forgot-password", forgotPasswordView);
route("/reset-password", resetPasswordView);
route("/verify-email", verifyEmailView);
route("/account", accountView);
route("/accept-invitation", acceptInvitationView);
route("/dashboard", dashboardView);
route("/billing", billingView);
route("/billing/invoices/:id", invoiceView);
route("/billing/plans", plansView);
route("/billing/credits", creditsView);
route("/billing/plan", (ctx) => ctx.redirect("/billing/plans"));
route("/admin", adminConsoleView);
route("/admin/payments/:id", adminPaymentView);
route("/admin/accounts", adminAccountsView);
route("/admin/accounts/:id", adminAccountView);
route("/admin/team", adminTeamView);
route("/admin/fx-rates", adminRatesView);
route("/admin/statements", adminStatementsView);
route("/admin/statements/:id", adminStatementView);
route("/admin/webhooks", adminWebhooksView);
route("/admin/webhooks/:id", adminWebhookView);
route("/admin/reports", adminReportsView);

function homeView(ctx) {
  if (!session.current) return ctx.redirect(session.takeLapsed() ? "/login?expired=1" : "/signup");
  return ctx.redirect(session.isAdmin ? "/admin" : "/dashboard");
}

function renderNav(path) {
  const user = session.user;
  const hrefs = !user ? ["/login", "/signup"]
    : user.role === "admin" ? [...adminLinks().map(([href]) => href), "/account"]
      : ["/dashboard", "/billing", "/billing/credits", "/billing/plans", "/account"];
  // The longest link that holds the path is the current one (/billing/plans, not /billing too).
  const currentHref = hrefs.filter((href) => path === href || path.startsWith(`${href}/`))
    .sort((a, b) => b.length - a.length)[0];
  const link = (href, text) => h("li", {}, h("a", { href, "aria-current": href === currentHref ? "page" : null }, text));
  let items;
  if (!user) {
    items = [link("/login", "Log in"), link("/signup", "Sign up")];
  } else if (user.role === "admin") {
    items = [...adminLinks().map(([href, text]) => link(href, text)),
      h("li", { class: "who" }, user.email), link("/account", "Account"), link("/logout", "Log out")];
  } else {
    items = [link("/dashboard", "Dashboard"), link("/billing", "Billing"), link("/billing/credits", "Credits"),
      link("/billing/plans", "Plans"),
      h("li", { class: "who" }, user.email), link("/account", "Account"), link("/logout", "Log out")];
  }
  replace(nav, h("ul", {}, items));
}

/** What every screen gets: where to draw, the path's params and query, and a few shortcuts. */
function context(url, token) {
  return {
    main,
    url,
    query: url.searchParams,
    params: {},
    /** Draw the screen (ignored if the user has moved on) and move focus to its heading. */
    show(title, ...nodes) {
      if (!isCurrent(token)) return false;
      document.title = `${title} · Ledgerline Billing`;
      replace(main, nodes);
      const heading = main.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
      return true;
    },
    loading(text = "Loading…") {
      if (isCurrent(token)) replace(main, h("p", { class: "loading", role: "status" }, text));
    },
    redirect(to) {
      return navigate(to, { replace: true });
    },
    isCurrent: () => isCurrent(token),
    /** Signed in (as an admin if asked)? Otherwise go to the login screen, back here after it. */
    requireUser({ admin = false } = {}) {
      if (!session.current) {
        navigate(loginPath(url.pathname + url.search, session.takeLapsed()), { replace: true });
        return false;
      }
      if (admin && !session.isAdmin) {
        this.show("Admins only", h("section", { class: "card narrow" },
          h("h1", {}, "Admins only"),
          h("p", {}, "This part of the app is the admin console. You are signed in as ",
            h("strong", {}, session.user.email), "."),
          h("div", { class: "actions" }, h("a", { class: "btn", href: "/dashboard" }, "Go to your dashboard"),
            h("a", { class: "btn btn-secondary", href: "/logout" }, "Log in as someone else"))));
        return false;
      }
      if (!admin && session.isAdmin) {
        navigate("/admin", { replace: true });
        return false;
      }
      return true;
    },
  };
}

/** The login screen, back to `next` after it; saying the session has expired if it did. */
function loginPath(next, expired) {
  return `/login?next=${encodeURIComponent(next)}${expired ? "&expired=1" : ""}`;
}

// The 401s of a session that ended (expired, could not be renewed, or its admin was disabled);
// any other 401 (a token that is not valid) goes to the login without saying it expired.
const SESSION_ENDED = ["session_expired", "token_expired", "admin_disabled"];

function errorScreen(ctx, error) {
  const unauthorized = error instanceof ApiError && error.status === 401;
  const ended = unauthorized && SESSION_ENDED.includes(error.code);
  if (ended || (unauthorized && session.current)) {
    session.end();
    return navigate(loginPath(ctx.url.pathname, ended), { replace: true });
  }
  if (error instanceof ApiError && error.code === "insufficient_role") return roleScreen(ctx, error);
  const notFound = error instanceof ApiError && error.status === 404;
  const title = notFound ? "Not found" : "Something went wrong";
  const message = error instanceof ApiError ? error.message : "An unexpected error happened in the app.";
  if (!(error instanceof ApiError)) console.error(error);
  return ctx.show(title, h("section", { class: "card narrow" },
    h("h1", {}, title),
    h("p", {}, message),
    h("div", { class: "actions" },
      notFound ? null : h("button", { class: "btn", type: "button", onclick: () => navigate(location.pathname + location.search, { replace: true }) }, "Try again"),
      h("a", { class: notFound ? "btn" : "btn btn-secondary", href: "/" }, "Go home"))));
}

/** A page above the admin's role: the API's words (which role it needs, which they hold). */
function roleScreen(ctx, error) {
  learnRole(error.details.role);
  renderNav(ctx.url.pathname);
  const title = "Not for your role";
  return ctx.show(title, h("section", { class: "card narrow", dataset: { insufficientRole: error.details.required ?? "" } },
    h("h1", {}, title),
    h("p", {}, error.message),
    h("p", { class: "muted small" }, "An owner can change your role on the Team page."),
    h("div", { class: "actions" }, h("a", { class: "btn", href: "/admin" }, "Go to the admin console"))));
}

async function onRoute(url, token) {
  if (session.isAdmin) await loadRole();
  renderNav(url.pathname);
  const ctx = context(url, token);
  const found = match(url.pathname);
  if (!found) {
    return ctx.show("Page not found", h("section", { class: "card narrow" },
      h("h1", {}, "Page not found"),
      h("p", {}, "There is nothing at ", h("code", {}, url.pathname), "."),
      h("div", { class: "actions" }, h("a", { class: "btn", href: "/" }, "Go home"))));
  }
  ctx.params = found.params;
  try {
    await found.view(ctx);
  } catch (error) {
    errorScreen(ctx, error);
  }
  return undefined;
}

start(onRoute);
