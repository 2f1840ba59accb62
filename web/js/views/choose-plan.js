// Choosing a paid plan for a trial, expired or cancelled account: the plan, the billing details
// (when the account has none stored, or the API asks for them), and how the payment will be made.
// The API answers with the first invoice, shown by the dashboard's pending banner.
import { ApiError, api, distinctMethods, idempotencyKeys } from "../api.js";
import { count, countryName, date, h, money, price, replace, toast } from "../dom.js";
import { busy, choiceCard, clearErrors, formAlert, showErrors, values } from "../forms.js";
import { navigate } from "../router.js";
import { billingBody, billingFields, billingProblems } from "../components/billing-fields.js";
import { methodSelector } from "../components/methods.js";

function intro(account) {
  if (account.status === "trial") {
    return account.trial_ends_at
      ? `Your free trial ends on ${date(account.trial_ends_at)}. Pick a plan to keep going; the trial credits you have not used are kept.`
      : "Pick a plan to keep going after the trial; the trial credits you have not used are kept.";
  }
  if (account.status === "expired") return "Your free trial has ended. Pick a plan to get credits again.";
  return "Your previous plan has ended. Pick a plan to start a new subscription.";
}

/** Whether the API's 422 asks for billing details (details.fields.billing or billing.<field>). */
const asksForBilling = (fields) => Object.keys(fields).some((name) => name === "billing" || name.startsWith("billing."));

export async function choosePlanView(ctx, me, plans) {
  const { account } = me;
  const paid = plans.filter((plan) => plan.price !== "0.00");
  const wanted = ctx.query.get("plan");
  const state = {
    plan: paid.some((p) => p.slug === wanted) ? wanted : paid[0]?.slug,
    needsBilling: !account.billing_country,
    methodsFor: undefined,
  };
  const keyFor = idempotencyKeys();
  const submit = h("button", { class: "btn", type: "submit" }, "Subscribe and get the invoice");
  const methodHolder = h("div", { "aria-live": "polite" });
  const summaryHolder = h("div", { class: "card summary-card" });
  const billingSection = h("section", { "aria-labelledby": "choose-billing", hidden: !state.needsBilling, dataset: { section: "billing" } },
    h("h2", { id: "choose-billing" }, "Billing details"),
    h("p", { class: "muted small" }, "They appear on your invoice and decide which payment methods you can use."),
    billingFields());
  const form = h("form", { novalidate: true, class: "choose-form", "aria-labelledby": "choose-title" },
    formAlert(),
    h("section", { "aria-labelledby": "choose-plan" },
      h("fieldset", { class: "field", dataset: { field: "plan" } },
        h("legend", { class: "legend", id: "choose-plan" }, "Plan"),
        h("div", { class: "choices plans plans-3" }, paid.map((plan) => choiceCard({
          name: "plan", value: plan.slug, checked: plan.slug === state.plan, title: plan.name,
          description: [
            h("span", { class: "price" }, price(plan)),
            h("span", { class: "small muted" }, `${count(plan.credits)} credits a month`),
            h("ul", {}, plan.features.map((feature) => h("li", {}, feature))),
          ],
        }))),
        h("span", { class: "error" }))),
    billingSection,
    h("section", { "aria-labelledby": "choose-method" },
      h("h2", { id: "choose-method" }, "How will you pay?"),
      h("p", { class: "muted small" }, "You pay outside this site, by transfer or wallet, then confirm the payment "
        + "with its bank transaction ID / TID; your plan starts once an admin has checked it."),
      methodHolder),
    summaryHolder,
    h("div", { class: "actions end" }, h("a", { class: "btn btn-secondary", href: "/dashboard" }, "Not now"), submit));

  form.elements.namedItem("billing.billing_name").value = account.name ?? "";
  form.elements.namedItem("billing.billing_email").value = me.user.email ?? "";
  form.elements.namedItem("billing.country").value = account.billing_country ?? "";
  const country = () => (state.needsBilling ? form.elements.namedItem("billing.country").value : account.billing_country);

  function drawSummary() {
    const plan = paid.find((p) => p.slug === state.plan);
    if (!plan) return replace(summaryHolder);
    return replace(summaryHolder,
      h("h3", {}, "Summary"),
      h("dl", { class: "kv" },
        h("dt", {}, "Plan"), h("dd", {}, `${plan.name} · ${count(plan.credits)} credits a month`),
        h("dt", {}, "Amount due"), h("dd", { "data-summary-amount": plan.price }, `${money(plan.price, plan.currency)} ${plan.currency}`),
        h("dt", {}, "Billing country"), h("dd", {}, country() ? countryName(country()) : "—")),
      h("p", { class: "small muted", style: "margin:.75rem 0 0" },
        "Next we show the invoice with its payment reference (like PR-7K4Q-X9MP) to write in the transfer's description."));
  }

  async function loadMethods() {
    const wantedCountry = country() || null;
    if (state.methodsFor === wantedCountry) return;
    state.methodsFor = wantedCountry;
    if (!wantedCountry) {
      replace(methodHolder, h("p", { class: "muted" }, "Choose the billing country to see how you can pay."));
      return;
    }
    const chosen = new FormData(form).get("payment_method");
    replace(methodHolder, h("p", { class: "loading", role: "status" }, "Loading payment methods…"));
    const methods = distinctMethods(await api.paymentMethods(wantedCountry));
    if (state.methodsFor !== wantedCountry) return; // the country changed meanwhile
    replace(methodHolder, methodSelector({
      methods, selected: chosen ?? "bank_transfer", legend: `Payment methods for ${countryName(wantedCountry)}`,
      hint: "Choose how you will pay; you can still use another offered method when you confirm.",
    }));
  }

  function showBilling() {
    state.needsBilling = true;
    billingSection.hidden = false;
    drawSummary();
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "plan") state.plan = event.target.value;
    if (event.target.name === "billing.country") loadMethods();
    drawSummary();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = values(form);
    const problems = state.needsBilling ? billingProblems(data) : {};
    if (!data.plan) problems.plan = "Choose a plan";
    if (!data.payment_method) problems.payment_method = "Choose a payment method";
    if (Object.keys(problems).length) return showErrors(form, problems, "Please fix the highlighted fields.");
    const body = { plan: data.plan, payment_method: data.payment_method };
    if (state.needsBilling) body.billing = billingBody(data);
    try {
      const reply = await busy(submit, "Subscribing…", () => api.subscribe(body, keyFor(body)));
      toast(`Invoice ${reply.invoice.invoice_number} awaits payment. Your plan starts once it is approved.`);
      return navigate("/dashboard");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = { ...error.fieldErrors };
      if (asksForBilling(fields) && !state.needsBilling) {
        showBilling();
        await loadMethods();
        delete fields.billing;
        return showErrors(form, { ...billingProblems(values(form)), ...fields },
          `${error.message} Fill them in and subscribe again.`);
      }
      if (typeof fields.billing === "string") {
        fields["billing.billing_name"] = fields.billing;
        delete fields.billing;
      }
      return showErrors(form, fields, error.message);
    }
  });

  drawSummary();
  const shown = ctx.show("Choose a plan", h("div", { class: "stack" },
    h("div", { class: "page-head" },
      h("div", {}, h("h1", { id: "choose-title" }, "Choose a plan"), h("p", {}, intro(account)))),
    h("section", { class: "card" }, form)));
  if (shown) await loadMethods();
}
