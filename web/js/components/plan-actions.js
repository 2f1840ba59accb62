// Buttons that change the subscription in one step (resume a cancelled plan, keep the current plan
// instead of a scheduled downgrade): each sends its request once, says what happened, and redraws
// the screen; the API's refusal is shown in the alert next to it.
import { ApiError, api, idempotencyKeys } from "../api.js";
import { h, toast } from "../dom.js";
import { busy, formAlert } from "../forms.js";
import { render } from "../router.js";

/** An alert for the API's error messages (the forms' style), empty until there is one. */
export const actionAlert = () => formAlert();

/**
 * A button that runs `call(idempotencyKey)`, then toasts `done(result)` and redraws the screen.
 * An ApiError's message goes into `alert` (an element from actionAlert()).
 */
export function actionButton({ label, busyLabel, call, done, alert, secondary = false, attrs = {} }) {
  const keyFor = idempotencyKeys();
  let attempt = 0;
  const button = h("button", { class: secondary ? "btn btn-secondary" : "btn", type: "button", ...attrs }, label);
  button.addEventListener("click", async () => {
    if (alert) alert.textContent = "";
    try {
      // One key per press of the button: a double click sends the same request, a later press a new one.
      attempt += 1;
      const result = await busy(button, busyLabel, () => call(keyFor({ attempt })));
      toast(done(result));
      await render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (alert) alert.textContent = error.message;
      else toast(error.message);
    }
  });
  return button;
}

/** "Resume my plan": undoes a cancellation at the period end. */
export function resumeButton(alert, planName) {
  return actionButton({
    label: "Resume my plan", busyLabel: "Resuming…", alert,
    call: (key) => api.resumeSubscription(key),
    done: () => `Your ${planName} plan continues; it renews as usual.`,
    attrs: { "data-action": "resume" },
  });
}

/**
 * "Keep <plan>": the current plan instead of the change waiting (a downgrade scheduled for the
 * period end, or an upgrade whose invoice is unpaid: its invoice is voided).
 */
export function keepPlanButton(alert, plan, planName, { label, done } = {}) {
  return actionButton({
    label: label ?? `Keep ${planName}`, busyLabel: "Saving…", alert, secondary: true,
    call: (key) => api.changePlan(plan, key),
    done: () => done ?? `You stay on ${planName}; the scheduled change is cancelled.`,
    attrs: { "data-action": "keep-plan" },
  });
}
