// Log in, log out, and sign up: a free trial, or a paid plan with a billing step and a payment method.
import { ApiError, api, distinctMethods, idempotencyKeys, session } from "../api.js";
import { countryName, h, money, price, replace, toast } from "../dom.js";
import { busy, choiceCard, clearErrors, field, formAlert, showErrors, values } from "../forms.js";
import { navigate } from "../router.js";
import { methodSelector } from "../components/methods.js";
import { billingBody, billingFields, billingProblems } from "../components/billing-fields.js";

/** A safe in-app path to go back to after logging in (never another site). */
function nextPath(query, fallback) {
  const next = query.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : fallback;
}

export function loginView(ctx) {
  if (session.current) return ctx.redirect(nextPath(ctx.query, session.isAdmin ? "/admin" : "/dashboard"));
  // Sent here by an ended session (?expired=1), or found one expired in storage on the way in.
  const expired = session.takeLapsed() || Boolean(ctx.query.get("expired"));
  const submit = h("button", { class: "btn btn-block", type: "submit" }, "Log in");
  const form = h("form", { novalidate: true, "aria-labelledby": "login-title" },
    formAlert(),
    field({ label: "Email", name: "email", type: "email", autocomplete: "username" }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password" }),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { email = "", password = "" } = values(form);
    const missing = {};
    if (!email) missing.email = "Enter your email address";
    if (!password) missing.password = "Enter your password";
    if (Object.keys(missing).length) return showErrors(form, missing);
    try {
      const reply = await busy(submit, "Logging in…", () => api.login(email, password));
      session.start(reply);
      return navigate(nextPath(ctx.query, reply.user.role === "admin" ? "/admin" : "/dashboard"), { replace: true });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showErrors(form, error.status === 401 ? {} : error.fieldErrors, error.message);
    }
  });
  ctx.show("Log in", h("section", { class: "card auth-card" },
    h("h1", { id: "login-title" }, "Log in"),
    expired ? h("p", { class: "alert alert-danger", role: "status" },
      "Your session has expired. Log in again to continue.") : null,
    h("p", { class: "muted" }, "Customers and admins log in here."),
    form,
    h("p", { class: "small", style: "margin-top:1rem" }, h("a", { href: "/forgot-password" }, "Forgot password?")),
    h("p", { class: "small muted", style: "margin-top:.5rem" }, "New here? ", h("a", { href: "/signup" }, "Create an account"), ".")));
  return undefined;
}

export async function logoutView(ctx) {
  const refreshToken = session.saved?.refreshToken;
  session.end();
  if (refreshToken) {
    try {
      await api.logout(refreshToken); // the session ends on the server too
    } catch {
      /* logged out here all the same; the session's token expires on its own */
    }
  }
  toast("You are logged out.");
  return ctx.redirect("/login");
}

// Signup --------------------------------------------------------------------------------------

const STEPS = ["Plan & account", "Billing details", "Payment method"];
const STEP_OF_FIELD = (name) => (name.startsWith("billing") ? 1 : name === "payment_method" ? 2 : 0);

// What was typed in signup, for the browser session: each step is its own history entry
// (/signup?plan=starter&step=2), and Back, Forward or a reload shows it filled in again. The
// password is never stored: it is kept in memory only (Back and Forward keep it, a reload does not).
const SIGNUP_KEY = "ledgerline.signup";
let signupPassword = "";
function savedSignup() {
  try { return JSON.parse(sessionStorage.getItem(SIGNUP_KEY) ?? "null") ?? {}; } catch { return {}; }
}
function saveSignup(form, plan) {
  const { password, ...rest } = values(form);
  signupPassword = password ?? "";
  try { sessionStorage.setItem(SIGNUP_KEY, JSON.stringify({ plan, values: rest })); } catch { /* storage full or off */ }
}
function forgetSignup() {
  signupPassword = "";
  try { sessionStorage.removeItem(SIGNUP_KEY); } catch { /* nothing kept */ }
}

export async function signupView(ctx) {
  if (session.current) return ctx.redirect(session.isAdmin ? "/admin" : "/dashboard");
  ctx.loading();
  const { items: plans } = await api.plans();
  const saved = savedSignup();
  const wanted = ctx.query.get("plan") ?? saved.plan;
  const state = { step: 0, plan: plans.some((p) => p.slug === wanted) ? wanted : "free", methodsFor: null };

  const alert = formAlert();
  const steps = h("ol", { class: "steps", "aria-label": "Signup steps" });
  const back = h("button", { class: "btn btn-secondary", type: "button" }, "Back");
  const submit = h("button", { class: "btn", type: "submit" });
  const methodHolder = h("div");
  const summary = h("div", { class: "card", style: "background:var(--bg);box-shadow:none" });
  const sections = [
    h("section", { "aria-labelledby": "step-0" },
      h("h2", { id: "step-0", class: "visually-hidden" }, STEPS[0]),
      h("fieldset", { class: "field", dataset: { field: "plan" } },
        h("legend", { class: "legend" }, "Choose a plan"),
        h("div", { class: "choices plans" }, plans.map((plan) => choiceCard({
          name: "plan", value: plan.slug, checked: plan.slug === state.plan, title: plan.name,
          description: [
            h("span", { class: "price" }, price(plan)),
            h("span", { class: "small muted" }, `${plan.credits.toLocaleString("en")} credits`),
            h("ul", {}, plan.features.map((feature) => h("li", {}, feature))),
          ],
        }))),
        h("span", { class: "error" })),
      h("div", { class: "form-row" },
        field({ label: "Your name", name: "name", autocomplete: "name" }),
        field({ label: "Company or account name", name: "account_name", optional: true, autocomplete: "organization" })),
      h("div", { class: "form-row" },
        field({ label: "Email", name: "email", type: "email", autocomplete: "email" }),
        field({ label: "Password", name: "password", type: "password", autocomplete: "new-password", hint: "At least 10 characters." }))),
    h("section", { "aria-labelledby": "step-1", hidden: true },
      h("h2", { id: "step-1" }, "Billing details"),
      h("p", { class: "muted small" }, "They appear on your invoice and decide which payment methods you can use."),
      billingFields()),
    h("section", { "aria-labelledby": "step-2", hidden: true },
      h("h2", { id: "step-2" }, "How will you pay?"),
      h("p", { class: "muted small" }, "You pay outside this site, by transfer or wallet, then confirm the payment with its bank transaction ID / TID; we activate your plan once an admin has checked it."),
      methodHolder,
      summary),
  ];
  const form = h("form", { novalidate: true, "aria-labelledby": "signup-title" }, alert, sections,
    h("div", { class: "actions end" }, back, submit));

  const keyFor = idempotencyKeys();
  const plan = () => plans.find((p) => p.slug === state.plan);
  const isPaid = () => plan()?.price !== "0.00";

  // The values of this browser session, and the step of the address (1 to 3) when the plan is paid.
  for (const [name, value] of Object.entries(saved.values ?? {})) {
    const control = form.elements.namedItem(name);
    if (control && name !== "plan" && name !== "payment_method") control.value = value;
  }
  form.elements.namedItem("password").value = signupPassword;
  const stepAsked = Number.parseInt(ctx.query.get("step") ?? "1", 10);
  if (isPaid() && stepAsked >= 1 && stepAsked <= 3) state.step = stepAsked - 1;
  const urlFor = (step) => `/signup?plan=${encodeURIComponent(state.plan)}${step ? `&step=${step + 1}` : ""}`;
  let created = false;  // once the account exists, nothing of the form is kept any more
  form.addEventListener("input", () => { if (!created) saveSignup(form, state.plan); });
  form.addEventListener("change", () => { if (!created) saveSignup(form, state.plan); });

  function draw() {
    const paid = isPaid();
    const count = paid ? 3 : 1;
    replace(steps, STEPS.slice(0, count).map((label, i) => h("li", {
      "aria-current": i === state.step ? "step" : null, class: i < state.step ? "done" : null,
    }, h("span", { class: "num", "aria-hidden": "true" }, i + 1), h("span", {}, label),
    i === state.step ? h("span", { class: "visually-hidden" }, ` (step ${i + 1} of ${count}, current)`) : null)));
    steps.hidden = !paid;
    sections.forEach((section, i) => { section.hidden = i !== state.step; });
    back.hidden = state.step === 0;
    submit.textContent = !paid ? "Start free trial" : state.step < 2 ? "Continue" : "Create account";
    const selected = plan();
    replace(summary,
      h("h3", {}, "Summary"),
      h("dl", { class: "kv" },
        h("dt", {}, "Plan"), h("dd", {}, `${selected.name} · ${selected.credits.toLocaleString("en")} credits`),
        h("dt", {}, "Amount due"), h("dd", {}, `${money(selected.price, selected.currency)} ${selected.currency}`),
        h("dt", {}, "Billing country"), h("dd", {}, countryName(form.elements.namedItem("billing.country").value))),
      h("p", { class: "small muted", style: "margin:.75rem 0 0" },
        "After you create the account we show your payment reference (like PR-7K4Q-X9MP) to write in the transfer's description."));
  }

  async function loadMethods() {
    const country = form.elements.namedItem("billing.country").value;
    if (state.methodsFor === country) return;
    const chosen = new FormData(form).get("payment_method") ?? savedSignup().values?.payment_method;
    replace(methodHolder, h("p", { class: "loading", role: "status" }, "Loading payment methods…"));
    const methods = distinctMethods(await api.paymentMethods(country));
    state.methodsFor = country;
    replace(methodHolder, methodSelector({
      methods, selected: chosen ?? "bank_transfer", legend: `Payment methods for ${countryName(country)}`,
      hint: "Choose how you will pay; you can still use another offered method when you confirm.",
    }));
  }

  function checkStep(data) {
    const problems = {};
    const need = (name, message) => { if (!data[name]) problems[name] = message; };
    if (state.step === 0) {
      need("name", "Enter your name");
      need("email", "Enter your email address");
      if (data.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(data.email)) problems.email = "Enter an email address like name@example.com";
      if ((data.password ?? "").length < 10) problems.password = "Use at least 10 characters";
    } else if (state.step === 1) {
      Object.assign(problems, billingProblems(data));
    } else if (state.step === 2) {
      need("payment_method", "Choose a payment method");
    }
    return problems;
  }

  function payload(data) {
    const body = { email: data.email, password: data.password, name: data.name, plan: state.plan };
    if (data.account_name) body.account_name = data.account_name;
    if (isPaid()) {
      body.billing = billingBody(data);
      body.payment_method = data.payment_method;
    }
    return body;
  }

  /** Show `step`; `push` makes it a new history entry, `replace` rewrites the current one. */
  async function goTo(step, { push = false, replace: rewrite = false } = {}) {
    if (push) history.pushState({ signupStep: step }, "", urlFor(step));
    else if (rewrite) history.replaceState({ signupStep: step }, "", urlFor(step));
    state.step = step;
    draw();
    if (step === 2) await loadMethods();
    const first = sections[step].querySelector("input:not([type=radio]), select, input[type=radio]:checked");
    (step === 0 ? form.querySelector("[name=plan]:checked") : first)?.focus();
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "plan") {
      state.plan = event.target.value;
      history.replaceState(history.state, "", urlFor(state.step));
      draw();
    }
  });
  back.addEventListener("click", () => {
    clearErrors(form);
    // The previous step is the previous history entry when Continue made this one.
    if (history.state?.signupStep === state.step && state.step > 0) history.back();
    else goTo(state.step - 1, { replace: true });
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    // Every step up to this one (a reload or Forward may have skipped one, or lost the password).
    const current = state.step;
    for (let step = 0; step <= current; step += 1) {
      state.step = step;
      const problems = checkStep(data);
      if (Object.keys(problems).length) {
        if (step !== current) {
          await goTo(step, { replace: true });
          if (problems.password && !data.password) problems.password = "Enter your password again (it is not kept when the page reloads)";
        }
        return showErrors(form, problems, "Please fix the highlighted fields.");
      }
    }
    state.step = current;
    if (isPaid() && state.step < 2) {
      if (state.step === 0 && !form.elements.namedItem("billing.billing_email").value) {
        form.elements.namedItem("billing.billing_email").value = data.email;
      }
      if (state.step === 0 && !form.elements.namedItem("billing.billing_name").value) {
        form.elements.namedItem("billing.billing_name").value = data.account_name ?? data.name;
      }
      saveSignup(form, state.plan);
      return goTo(state.step + 1, { push: true });
    }
    try {
      const body = payload(data);
      const reply = await busy(submit, "Creating your account…", () => api.register(body, keyFor(body)));
      session.start(reply);
      created = true;
      forgetSignup();
      toast(reply.invoice ? `Account created. Invoice ${reply.invoice.invoice_number} awaits payment.`
        : "Welcome! Your free trial has started.");
      return navigate("/dashboard");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showRegisterError(error);
    }
  });

  async function showRegisterError(error) {
    const fields = { ...error.fieldErrors };
    if (error.code === "email_taken") fields.email = "An account with this email already exists. Log in instead";
    const names = Object.keys(fields);
    const step = names.length ? Math.min(...names.map(STEP_OF_FIELD)) : state.step;
    if (step !== state.step) await goTo(step, { replace: true });
    if (fields.billing && typeof fields.billing === "string") {
      fields["billing.billing_name"] = fields.billing;
      delete fields.billing;
    }
    showErrors(form, fields, error.message);
  }

  draw();
  const shown = ctx.show("Sign up", h("div", { class: "stack" },
    h("div", { class: "hero" },
      h("h1", { id: "signup-title" }, "Create your account"),
      h("p", {}, "Start free with 1,000 credits, or pick a plan and pay by bank transfer or a local wallet.")),
    h("section", { class: "card" }, steps, form),
    h("p", { class: "small muted", style: "text-align:center" }, "Already have an account? ", h("a", { href: "/login" }, "Log in"), ".")));
  if (state.step > 0) await goTo(state.step);
  return shown;
}
