"""Random sequences of signups, confirmations, decisions and exchange-rate changes through the
real app (Chalice's test client on moto); after every step the stored state must satisfy the
billing invariants.

Hypothesis drives a `RuleBasedStateMachine`. Each rule also predicts the HTTP status from a small
model of the workflow (an invoice is pending, partially paid or paid, has at most one payment
awaiting approval) and of its money (`stateful_books.Books`: what each payment settles, in USD or
in PKR at the invoice's quote, in full, within the tolerance, in part or too much; what is then
due; the account's balance; each quote as issued, at the rate the admin set), and a request that
must be refused (409, 422) must leave every table unchanged. The invariants are checked twice, by
the plain assertions of `billing_invariants` and by `ops.integrity`, and the two must agree; the
store's money must be the books', to the cent, and every money figure of a response a string with
two decimals. Deterministic: derandomized, no example database. The life after the first approval
(renewals, dunning, plan changes, cancellations, trials) under a moving clock is
test_stateful_lifecycle.py's.

Speed: a Scan through moto spends ~90% of its time serializing the response, and the invariants
run after every step, so they read moto's tables directly (the same stored items, without the
wire format); at the end of each example the checker's own Scans must give the same report.

More than CI: `make fuzz` sets FUZZ_SEED (a random seed, printed) and FUZZ_EXAMPLES (more
examples; never fewer than CI's 30): Hypothesis then draws from that seed instead of replaying the
derandomized case set. `make fuzz FUZZ_SEED=<n> FUZZ_EXAMPLES=<m>` replays a run.

When a run fails, record it as a regression case:
- add `(seed, examples)` of the failing run to REGRESSION_SEEDS below: every run, CI's included,
  replays it after the derandomized one (it finds the failure again as long as the rules and
  strategies draw the same way);
- and for a case that outlives changes to the rules, copy the failing program Hypothesis prints
  (`state = BillingMachine()`, then one `state.<rule>(...)` per step) into a test of its own that
  sets up `RUN` as `_run` does and calls `state.the_store_is_consistent()` after each step.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chalicelib.billing import references
from ops import integrity
from tests.billing import stateful_runs as runs
from tests.billing.billing_invariants import own_invariants, store_state
from tests.billing.stateful_books import Books
from tests.billing.stateful_money import (
    FIRST_RATES, FIRST_TURNS, FX_RATE, RATES, WAYS, Way, in_turn, money_problems, rate_ok,
)
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, MotoStore, report
from tests.helpers import stored_snapshot

PLANS = ("starter", "growth", "scale")
METHODS_PK = ("bank_transfer", "jazzcash", "easypaisa", "raast", "wise")
NOT_OFFERED_PK = ("upi", "bkash")
PENDING = "pending_approval"
CONFIRM = "/api/v1/billing/admin/payments/confirm/"
DECISIONS = (("approve", "Verified in bank statement"), ("reject", "Reference not found"),  # 0, 1
             ("approve", "Matched\nwith statement line 4"), ("reject", "Amount short"),
             ("reject", None))
MAX_FREE_USERS, MAX_PAID_USERS = 2, 4  # per example, so that most steps go to payments
PICK = st.integers(min_value=0, max_value=7)  # which user or payment a rule acts on
# (seed, examples) of runs that found a bug, replayed by every run: see the module's docstring
REGRESSION_SEEDS: list[tuple[int, int]] = []


@dataclass
class PaidUser:
    token: str
    account_id: str
    invoice_id: str


@dataclass
class Submitted:
    payment_id: str
    user: PaidUser
    body: dict


RUN = runs.Run()


def _claim(body: dict) -> tuple[str, str]:
    """A confirmation's (method, bank reference) pair as the app compares them."""
    return body["payment_method"], references.compact(body["manual_reference"])


def fresh_store() -> None:
    """The store as seeded, and the admin (skipped when no request ran since it was last done)."""
    if not RUN.dirty:
        return
    RUN.dirty, RUN.admin_token = False, None
    assert RUN.store is not None
    RUN.store.restore()


class BillingMachine(RuleBasedStateMachine):
    """Users sign up, confirm (right and wrong), retry; the admin approves, rejects, retries,
    and sets the PKR rate.

    `advance_a_workflow` moves the seed's workflows forward (paid signup → confirm → reject the
    first attempt → confirm again → approve); the other rules, with drawn arguments, do anything
    at any time: wrong amounts, parts, overpayments, PKR at the quote, duplicates, retries,
    decisions on decided payments, a new rate. Users and payments are picked by a drawn number. A
    rule with nothing to act on (or past its limit) advances a workflow instead: Hypothesis's
    swarm testing enables a random subset of rules per example, and a subset of rules that can do
    nothing would waste the whole example.
    """

    def __init__(self) -> None:
        super().__init__()
        RUN.examples += 1
        assert RUN.api is not None
        self.api = RUN.api
        self.emails = itertools.count()
        self.free_users = self.requests = 0
        self.tried_duplicate = False
        self.users: list[PaidUser] = []
        self.submitted: list[Submitted] = []  # in submission order
        self.books, self.ways = Books(), in_turn(0)
        self.pending_of: dict[str, str | None] = {}  # invoice → payment awaiting approval
        self.payment_status: dict[str, str] = {}
        self.claims: dict[tuple[str, str], str] = {}  # (method, bank reference) → its payment
        self.claim_account: dict[str, str] = {}  # a claiming payment → its account

    @initialize(rate=FIRST_RATES, turn=FIRST_TURNS)
    def start_with_a_fresh_store(self, rate: str | None, turn: int) -> None:
        """A fresh store; a PKR rate (or none: invoices without a quote); where in IN_TURN the
        workflows pay from."""
        fresh_store()
        self.ways = in_turn(turn)
        RUN.admin_token = RUN.admin_token or self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.admin = RUN.admin_token
        if rate is not None:
            self.the_rate_changes(rate)

    def _expect(self, reply, status: int) -> None:
        self.requests += 1
        RUN.dirty = True
        RUN.requests += 1
        RUN.statuses[reply.status] += 1
        assert reply.status == status, (status, reply.status, reply.body)
        assert not (bad := money_problems(reply.body)), bad

    def _refused(self, send, status: int, code: str | None = None):
        """Send a request that must be refused with `status` (and `code`) and change nothing."""
        before = store_state()
        reply = send()
        self._expect(reply, status)
        assert code is None or reply.body["error"]["code"] == code, (code, reply.body)
        assert store_state() == before, "a refused request changed the store"
        return reply

    def _paid(self, user: PaidUser) -> bool:
        return self.books.invoices[user.invoice_id].status == "paid"

    # The seed's workflows, step by step -------------------------------------------------------

    @rule()
    def advance_a_workflow(self) -> None:
        """The admin decides the oldest payment awaiting approval (a first attempt is rejected,
        a later one approved); else a user with an open invoice pays what it still owes, a part,
        more, or just outside the tolerance (`IN_TURN`); else someone signs up for a paid plan."""
        pending = [s for s in self.submitted if self.payment_status[s.payment_id] == PENDING]
        if pending:
            oldest = pending[0]
            attempts = sum(1 for s in self.submitted if s.user.invoice_id == oldest.user.invoice_id)
            self._decide(oldest, *(DECISIONS[1] if attempts == 1 else DECISIONS[0]))
            return
        unpaid = next((u for u in self.users if not self._paid(u)), None)
        if unpaid is not None:
            self._pay(unpaid, next(self.ways), "bank_transfer", f"BT-{len(self.submitted) + 1}")
        elif len(self.users) < MAX_PAID_USERS:
            self._paid_signup("starter", "bank_transfer")

    # Signups ---------------------------------------------------------------------------------

    @rule(plan=st.sampled_from(["free", *PLANS]), method=st.sampled_from(METHODS_PK))
    def signup(self, plan: str, method: str) -> None:
        """A free trial (at most 2 per example) or a paid signup (at most 4)."""
        if plan == "free" and self.free_users < MAX_FREE_USERS:
            self.free_users += 1
            self._expect(self.api.register(f"trial{next(self.emails)}@khan.pk"), 201)
        elif plan != "free" and len(self.users) < MAX_PAID_USERS:
            self._paid_signup(plan, method)
        else:
            self.advance_a_workflow()

    def _paid_signup(self, plan: str, method: str) -> None:
        reply = self.api.register(f"paid{next(self.emails)}@khan.pk", plan=plan,
                                  payment_method=method, billing=BILLING_PK)
        self._expect(reply, 201)
        invoice_id = reply.body["invoice"]["id"]
        self.pending_of[invoice_id] = None
        self.users.append(PaidUser(reply.body["access_token"], reply.body["account"]["id"],
                                   invoice_id))
        self.books.learn(stored_snapshot())  # quoted at the rate of now
        self.books.reply_agrees(reply.body["invoice"])

    @rule(pick=PICK)
    def duplicate_signup(self, pick: int) -> None:
        """A paid user's email again: 409 and nothing changes (tried once per example)."""
        if self.tried_duplicate or not self.users:
            return self.advance_a_workflow()
        self.tried_duplicate = True
        user = self.users[pick % len(self.users)]
        email = self.api.get("/api/v1/auth/me", token=user.token).body["user"]["email"]
        self._refused(lambda: self.api.register(email, plan="starter", billing=BILLING_PK), 409)

    # Confirmations ---------------------------------------------------------------------------

    def _pay(self, user: PaidUser, way: Way, method: str, reference: str) -> None:
        body, _ = self.books.pay(user.invoice_id, way, method, reference)
        self._confirm(user, {**body, "manual_notes": "sent from my bank app"})

    def _confirm(self, user: PaidUser, body: dict) -> None:
        """Send a confirmation; the models say what must happen."""
        send = lambda: self.api.post(CONFIRM, body, token=user.token)  # noqa: E731
        if self._paid(user) or self.pending_of[user.invoice_id]:
            return self._refused(send, 409)
        if body["payment_method"] in NOT_OFFERED_PK:
            return self._refused(send, 422, "method_not_offered")
        outcome = self.books.judge(user.invoice_id, body)
        RUN.money[outcome.seen(body)] += 1
        if outcome.code is not None:  # not what the invoice can take: nothing changes
            reply = self._refused(send, 422, outcome.code)
            if outcome.code == "amount_mismatch":
                details = reply.body["error"]["details"]
                assert {"amount_due", "min", "max", "currency"} <= set(details), details
        elif self._claimed(body, user):  # this account's bank reference and method, not failed
            self._refused(send, 409, "duplicate_reference")
        else:
            reply = send()
            self._expect(reply, 201)
            payment_id = reply.body["id"]
            self.pending_of[user.invoice_id] = payment_id
            self.payment_status[payment_id] = PENDING
            self.submitted.append(Submitted(payment_id, user, body))
            if not self._claimed(body):  # across accounts a clash is flagged, the claim kept
                self.claims[_claim(body)] = payment_id
                self.claim_account[payment_id] = user.account_id
            self.books.confirmed(reply.body, body, outcome)

    def _claimed(self, body: dict, user: PaidUser | None = None) -> bool:
        """The pair is held by a payment that has not failed (by `user`'s account, if given)."""
        holder = self.claims.get(_claim(body))
        return holder is not None and self.payment_status[holder] != "failed" and (
            user is None or self.claim_account[holder] == user.account_id)

    @rule(pick=PICK, method=st.sampled_from(METHODS_PK + NOT_OFFERED_PK), way=WAYS,
          reference=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1,
                            max_size=12))
    def confirm(self, pick: int, method: str, way: Way, reference: str) -> None:
        """A confirmation of what is due, a part or too much, in USD or PKR; sometimes just outside
        the tolerance, in a currency not taken, or with a method not offered in PK (422)."""
        payable = [u for u in self.users if not self._paid(u) and not self.pending_of[u.invoice_id]]
        users = payable if payable and pick % 4 else self.users  # mostly one that can pay
        if not users:
            return self.advance_a_workflow()
        self._pay(users[pick % len(users)], way, method, f"REF{reference}")

    @rule(pick=PICK, same_request=st.booleans())
    def confirm_again(self, pick: int, same_request: bool) -> None:
        """A submitted confirmation again, as it was (a double click, a retried request) or
        corrected with a new reference: refused while a payment awaits approval or once the
        invoice is paid; after a rejection or a part paid, a new submission (if it fits what is
        due now)."""
        if not self.submitted:
            return self.advance_a_workflow()
        earlier = self.submitted[pick % len(self.submitted)]
        body = earlier.body if same_request else {
            **earlier.body, "manual_reference": f"{earlier.body['manual_reference']}-2"}
        self._confirm(earlier.user, body)

    # Decisions -------------------------------------------------------------------------------

    def _decide(self, submitted: Submitted, verb: str, notes: str | None) -> None:
        path = f"/api/v1/billing/admin/payments/{submitted.payment_id}/{verb}/"
        body = {} if notes is None else {"admin_notes": notes}
        send = lambda: self.api.post(path, body, token=self.admin)  # noqa: E731
        if notes is None:  # a rejection needs a reason, whatever the payment's state
            return self._refused(send, 422)
        if self.payment_status[submitted.payment_id] != PENDING:
            return self._refused(send, 409, "payment_not_pending")
        reply = send()
        self._expect(reply, 200)
        self.pending_of[submitted.user.invoice_id] = None
        self.payment_status[submitted.payment_id] = "succeeded" if verb == "approve" else "failed"
        if verb == "reject":  # nothing paid: the books stay as they are
            return
        self.books.approved(submitted.payment_id, reply.body["invoice"])
        account = reply.body["account"]
        self.books.balance_shown(submitted.user.account_id, account)
        assert account["status"] == ("active" if self._paid(submitted.user) else "pending_payment")

    @rule(pick=PICK, decision=st.sampled_from(DECISIONS))
    def decide(self, pick: int, decision: tuple[str, str | None]) -> None:
        """Approve or reject any submitted payment, also one already decided (409, nothing
        changes), or reject without a reason (422)."""
        if not self.submitted:
            return self.advance_a_workflow()
        self._decide(self.submitted[pick % len(self.submitted)], *decision)

    # Exchange rates --------------------------------------------------------------------------

    @rule(rate=st.sampled_from(RATES))
    def the_rate_changes(self, rate: str) -> None:
        """The admin sets the PKR rate: new invoices are quoted at it, issued ones keep their
        quotes (the books hold them); a rate with more than 6 decimals is refused."""
        send = lambda: self.api.request("PUT", FX_RATE, body={"rate": rate},  # noqa: E731
                                        token=self.admin)
        if not rate_ok(rate):
            self._refused(send, 422, "validation_failed")
            return
        reply = send()
        self._expect(reply, 200)
        self.books.rate_set(reply, rate, ADMIN_EMAIL)

    # Invariants ----------------------------------------------------------------------------

    @invariant()
    def the_store_is_consistent(self) -> None:
        RUN.invariant_checks += 1
        snap = stored_snapshot()
        self.books.learn(snap)
        mine = own_invariants(snap, self.books)
        report = integrity.check(snap)
        # Both ways agree, rule by rule; then all must hold
        for name, violations in mine.items():
            assert (not violations) == (not report.failures_of(name)), (name, violations,
                                                                          report.failures_of(name))
        assert not any(mine.values()), mine
        assert report.ok, "\n".join(report.lines())
        # And the models agree with the store on every payment's status, and on the money
        stored = {p.payment_id: p.status for p in snap.payments}
        assert stored == self.payment_status
        assert not (bad := self.books.problems(snap)), bad

    def teardown(self) -> None:
        """The checker's own Scans see what the invariants saw."""
        if self.requests:
            RUN.examples_with_requests += 1
            assert integrity.verify().lines() == integrity.check(stored_snapshot()).lines()
        RUN.money.update(self.books.seen)  # the approvals (confirmations are counted as sent)


def _run(store: MotoStore, fuzz_seed: int | None, examples: int) -> None:
    runs.play(BillingMachine, RUN, store, fuzz_seed, examples)


def test_random_workflows_keep_the_store_consistent(moto_module):
    _run(moto_module, runs.FUZZ_SEED, runs.FUZZ_EXAMPLES)
    report(f"hypothesis {RUN.summary()}")
    assert RUN.examples_with_requests >= 20 and RUN.requests >= 300
    # The runs reached every outcome the rules model
    assert {200, 201, 409, 422} <= set(RUN.statuses)
    assert {"PKR full", "USD partial", "PKR partial", "USD overpayment", "PKR amount_mismatch",
            "USD amount_mismatch", "PKR currency_not_accepted", "INR currency_not_accepted",
            "approved partial", "approved overpayment", "approved written off"} <= set(RUN.money)
    # And the runs that once failed pass
    for fuzz_seed, examples in REGRESSION_SEEDS:
        _run(moto_module, fuzz_seed, examples)
