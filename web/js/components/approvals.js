// Two approvers: a payment worth more than the API's SECOND_APPROVAL_ABOVE (`approvals_required`:
// 2) is approved by two admins. Who approved so far, in the queue, the payment and account pages.
import { dateTime, h } from "../dom.js";

/** Whether the payment waits for approvals and needs two. */
export const needsTwo = (payment) => payment.approvals_required === 2;

/** "1 of 2 approvals · by owner@example.com", for a payment that needs two (else null). */
export function approvalsNote(payment, { detail = false } = {}) {
  if (!needsTwo(payment)) return null;
  const approvals = payment.approvals ?? [];
  const given = Math.min(approvals.length, 2);
  return h("div", { class: "approvals small", dataset: { approvals: given, approvalsRequired: 2 } },
    h("span", { class: `badge ${given === 2 ? "badge-success" : given === 1 ? "badge-info" : "badge-neutral"}` },
      `${given} of 2 approvals`),
    approvals.length ? h("span", { class: "approvals-who" }, " by ", approvals.map((approval, i) => [i ? " and " : null,
      h("span", { dataset: { approvedBy: approval.by } }, approval.by),
      detail ? h("span", { class: "muted" }, ` (${dateTime(approval.at)})`) : null])) : null);
}
