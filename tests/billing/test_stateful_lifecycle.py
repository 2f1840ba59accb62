"""Random subscription lives under a moving clock through the real app (Chalice's test client on
moto); after every step the store must satisfy the lifecycle's invariants.

The clock starts at an awkward moment (a 31st, a leap day, a year's last second) and only moves
forward: an hour to 40 days at a time, a second per request. Customers sign up (paid or trial),
confirm whatever invoice their account awaits (`/auth/me`'s pending_invoice: signup, renewal or
upgrade: what is due, a part, more, in USD or in PKR at its quote), the admin approves or rejects
and sets the PKR rate, customers change plans (up, down, the current one), cancel and resume,
trials and ended accounts subscribe, all as of the current time (`clock.travel`); the billing
jobs run as of it, sometimes twice (the second run does nothing). Each request's status is
predicted from the contract (`lifecycle_expect`, `stateful_money`), a refused request changes
nothing, no response is a 5xx and every money figure is a two-decimal string. After every step:
`lifecycle_invariants` over the stored state (moto's tables read directly, as in
test_stateful_billing), `ops.integrity.check` (it must pass and agree with the rules of the same
name), the model's payment statuses, the books' money (`stateful_books.Books`: each invoice's
paid, written off and due, its quote as issued, each balance, a renewal taking the balance there
was), anchors that never move, and the step's post-conditions (an approval, an upgrade's price,
nothing left due after the jobs ran); at the end of each example the checker's own Scans give the
same report.

CI, FUZZ_SEED/FUZZ_EXAMPLES and REGRESSION_SEEDS work as in test_stateful_billing.py (its docstring
says how to keep a failing run); what this machine found is in test_lifecycle_regressions.py.
"""
from __future__ import annotations

import itertools
from collections import Counter, namedtuple
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from ops import integrity
from tests.billing import lifecycle_expect as expected
from tests.billing import stateful_runs as runs
from tests.billing.lifecycle_invariants import Index, hold
from tests.billing.stateful_books import Books
from tests.billing.stateful_money import (
    EXACT, FIRST_RATES, FIRST_TURNS, FX_RATE, RATES, WAYS, Way, from_the_balance, in_turn, money,
    money_problems, rate_ok,
)
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, MotoStore, report
from tests.helpers import store_snapshot, stored_snapshot

UTC = timezone.utc
STARTS = (datetime(2027, 1, 31, 10, 0, tzinfo=UTC),  # a 31st: February clamps to the 28th
          datetime(2028, 2, 29, 12, 0, tzinfo=UTC),  # a leap day
          datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC),  # invoice numbers start a new year
          datetime(2027, 3, 15, 8, 30, tzinfo=UTC))
PLANS = ("starter", "growth", "scale")
HOUR, TAKES = timedelta(hours=1), timedelta(seconds=1)  # TAKES: a request or a run of the jobs
STEPS = st.one_of(st.integers(1, 48), st.integers(2 * 24, 40 * 24))  # hours the clock moves on
PICK = st.integers(min_value=0, max_value=7)  # which customer or payment a rule acts on
MAX_CUSTOMERS = 3  # per example, so that most steps go to the lives of a few
CONFIRM, SUBSCRIPTION = "/api/v1/billing/admin/payments/confirm/", "/api/v1/billing/subscription"
PENDING = "pending_approval"
REGRESSION_SEEDS: list[tuple[int, int]] = []  # (seed, examples) replayed by every run


Customer = namedtuple("Customer", "token account_id")
RUN = runs.Run()


class LifecycleMachine(RuleBasedStateMachine):
    """Customers live through periods, renewals, dunning, plan changes, cancellations and trials
    while the clock moves; a rule with nothing to act on `advance`s a life instead (swarm testing
    may have disabled the rules that would)."""

    def __init__(self) -> None:
        super().__init__()
        RUN.examples += 1
        assert RUN.api is not None
        self.api = RUN.api
        self.emails, self.references = itertools.count(), itertools.count(1)
        self.customers: list[Customer] = []
        self.payments: dict[str, str] = {}  # payment → the status the model expects
        self.anchors: dict[str, str] = {}  # subscription → its anchor, once set
        self.checks: list[Callable[[Index], None]] = []  # the step's post-conditions
        self.books, self.ways, self.habit = Books(), in_turn(0), "on time"
        self.requests = self.advances = 0
        self.now = self.sent_at = STARTS[0]
        self.ix: Index  # the store after the last step (what the rules predict from)

    @initialize(start=st.sampled_from(STARTS), plan=st.sampled_from(PLANS),
                paid=st.sampled_from((True, True, True, False)), trial=st.booleans(),
                rate=FIRST_RATES, turn=FIRST_TURNS, habit=st.sampled_from(expected.HABITS))
    def customers_at_the_start(self, start: datetime, plan: str, paid: bool, trial: bool,
                               rate: str | None, turn: int, habit: str) -> None:
        """A PKR rate (or none: no quotes); a paid signup as of `start`, usually approved at
        once (anchored there); a trial; how (`habit`) and where in IN_TURN they pay from."""
        if RUN.dirty:
            RUN.dirty = False
            assert RUN.store is not None
            RUN.store.restore()
        RUN.admin_token = RUN.admin_token or self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.now, self.ways, self.habit = start, in_turn(turn, all_of_it=True), habit
        if rate is not None:
            self.the_rate_changes(rate)
        self._look()
        self._signup(plan)
        if paid:
            self._look()
            self._pay(self.customers[0])
            self._look()
            self._decide(next(iter(self.payments)), approve=True)
        if trial:
            self._signup("free")

    # Requests ---------------------------------------------------------------------------------

    def _send(self, call: Callable[[], Any], expect: int, unchanged: bool = False) -> Any:
        """A request as of now: its status `expect`, never 5xx; a refusal (or a request that must
        change nothing) leaves every table as it was."""
        before = store_snapshot() if unchanged or expect >= 400 else None
        with clock.travel(self.now):
            reply = call()
        self.sent_at, self.now = self.now, self.now + TAKES
        self.requests += 1
        RUN.dirty, RUN.requests = True, RUN.requests + 1
        RUN.statuses[reply.status] += 1
        assert reply.status < 500, (reply.status, reply.body)
        assert reply.status == expect, (self.sent_at, expect, reply.status, reply.body)
        assert not (bad := money_problems(reply.body)), bad
        if before is not None:
            assert store_snapshot() == before, f"{reply.status} changed the store: {reply.body}"
        return reply

    def _user(self, customer: Customer, path: str, body: dict | None, expect: int,
              unchanged: bool = False) -> Any:
        return self._send(lambda: self.api.post(path, body, token=customer.token), expect,
                          unchanged)

    def _pick(self, pick: int, fits: Callable[[Customer], bool],
              meant: Callable[[Customer], bool] | None = None) -> Customer | None:
        """A customer that `fits`, for three picks in four one the rule is `meant` for (None if
        there is none: the rule advances a life instead)."""
        chosen = [c for c in self.customers
                  if fits(c) and (meant is None or pick % 4 == 0 or meant(c))]
        return chosen[pick % len(chosen)] if chosen else None

    def _look(self) -> None:
        """The store as it is now: what the rules predict from, and the books learn from."""
        self.ix = Index(stored_snapshot())
        self.books.learn(self.ix.snap)

    def _account(self, customer: Customer) -> Any:
        return self.ix.accounts[customer.account_id]

    def _sub(self, customer: Customer) -> Any:
        return self.ix.subs.get(self._account(customer).subscription_id or "")

    # Signups ---------------------------------------------------------------------------------

    @rule(plan=st.sampled_from(("free", *PLANS)))
    def signup(self, plan: str) -> None:
        """A trial or a paid signup (at most MAX_CUSTOMERS per example)."""
        if len(self.customers) >= MAX_CUSTOMERS:
            return self.advance()
        self._signup(plan)

    def _signup(self, plan: str) -> None:
        email = f"life{next(self.emails)}@khan.pk"
        extra = {} if plan == "free" else {"payment_method": "bank_transfer"}
        reply = self._send(lambda: self.api.register(email, plan=plan, **extra), 201)
        self.customers.append(Customer(reply.body["access_token"], reply.body["account"]["id"]))
        if plan == "free":
            ends = stamp(self.sent_at + timedelta(days=get_settings().trial_days))
            assert reply.body["account"]["trial_ends_at"] == clock.public_time(ends), reply.body

    @rule(pick=PICK, plan=st.sampled_from(PLANS), billing=st.booleans())
    def subscribe(self, pick: int, plan: str, billing: bool) -> None:
        """A trial, expired or cancelled account subscribes (billing details needed if it has
        none); any other gets 409."""
        customer = self._pick(pick, lambda c: True,
                              lambda c: expected.can_subscribe(self.ix, self._account(c)))
        if customer is None:
            return self.advance()
        self._subscribe(customer, plan, billing)

    def _subscribe(self, customer: Customer, plan: str, billing: bool) -> None:
        account = self._account(customer)
        body = {"plan": plan, "payment_method": "bank_transfer",
                **({"billing": BILLING_PK} if billing else {})}
        expect = expected.subscribe(self.ix, account, billing)
        reply = self._user(customer, SUBSCRIPTION, body, expect)
        if reply.status == 201:  # a trial stays one (its credits usable) until the approval
            status = "trial" if account.status == "trial" else "pending_payment"
            assert (reply.body["account"]["status"], reply.body["invoice"]["amount"]) == (
                status, money(self.ix.plans[plan].price_minor)), reply.body

    # Payments --------------------------------------------------------------------------------

    @rule(pick=PICK, way=WAYS, method=st.sampled_from(("bank_transfer", "jazzcash", "wise")))
    def pay_what_is_due(self, pick: int, way: Way, method: str) -> None:
        """A customer confirms the invoice the account awaits, whatever its kind: what is due, a
        part, more, in USD or in PKR at its quote (or a way that is refused: 422)."""
        customer = self._pick(pick, lambda c: bool(self._account(c).pending_invoice_id))
        if customer is None:
            return self.advance()
        self._pay(customer, way, method)

    def _pay(self, customer: Customer, way: Way = EXACT, method: str = "bank_transfer") -> None:
        me = self._send(lambda: self.api.get("/api/v1/auth/me", token=customer.token), 200).body
        pending = me["pending_invoice"]
        assert (pending or {}).get("id") == self._account(customer).pending_invoice_id, me
        invoice = self.ix.invoices[pending["id"]]
        self.books.reply_agrees(pending)
        body, outcome = self.books.pay(invoice.invoice_id, way, method,
                                       f"BT-{next(self.references)}")
        reply = self._user(customer, CONFIRM, body, expected.confirm(invoice, outcome))
        if payment_id := self.books.answered(reply, body, outcome):
            self.payments[payment_id] = PENDING

    @rule(pick=PICK, approve=st.sampled_from((True, True, False)))
    def decide(self, pick: int, approve: bool) -> None:
        """The admin approves or rejects a payment awaiting approval."""
        waiting = [p for p, status in self.payments.items() if status == PENDING]
        if not waiting:
            return self.advance()
        self._decide(waiting[pick % len(waiting)], approve)

    def _decide(self, payment_id: str, approve: bool) -> None:
        invoice = self.ix.invoices[self.ix.payments[payment_id].invoice_id]
        expect = expected.approve(self.ix, invoice) if approve else 200
        verb, notes = ("approve", "Verified") if approve else ("reject", "Reference not found")
        path = f"/api/v1/billing/admin/payments/{payment_id}/{verb}/"
        reply = self._send(lambda: self.api.post(path, {"admin_notes": notes},
                                                 token=RUN.admin_token), expect)
        if reply.status != 200:
            return
        self.payments[payment_id] = "succeeded" if approve else "failed"
        if not approve:  # nothing paid: the books stay as they are
            return
        part = self.books.approved(payment_id, reply.body["invoice"]) == "partial"
        self.checks += [partial(expected.approved, self.ix, invoice.invoice_id, self.sent_at, part),
                        partial(self.books.balance_shown, invoice.account_id,
                                reply.body["account"])]  # once the books have the step's voids

    # Plan changes, cancel and resume -----------------------------------------------------------

    @rule(pick=PICK, plan=st.sampled_from(PLANS))
    def change_plan(self, pick: int, plan: str) -> None:
        """Upgrade (a prorated invoice), downgrade (scheduled), or the current plan (withdraws a
        waiting change; nothing to withdraw: nothing changes)."""
        customer = self._pick(pick, lambda c: self._sub(c) is not None,
                              lambda c: self._sub(c).status == "active")
        if customer is None:
            return self.advance()
        sub = self._sub(customer)
        status, kind = expected.change(self.ix, sub, plan, self.now)
        reply = self._user(customer, f"{SUBSCRIPTION}/change", {"plan": plan}, status,
                           unchanged=kind == "none")
        if reply.status != 200:
            return
        if kind == "upgrade":
            self.checks.append(partial(expected.upgrade_priced, self.ix, sub.subscription_id, plan,
                                       self.sent_at, reply.body["invoice"]["id"]))
        scheduled = plan if kind == "downgrade" else None
        assert reply.body["subscription"]["scheduled_plan"] == scheduled, reply.body

    @rule(pick=PICK)
    def cancel(self, pick: int) -> None:
        """Cancel at the period end (again: nothing changes)."""
        customer = self._pick(pick, lambda c: self._sub(c) is not None,
                              lambda c: self._sub(c).status == "active"
                              and not self._sub(c).cancel_at_period_end)
        if customer is None:
            return self.advance()
        sub = self._sub(customer)
        expect = expected.cancel(self.ix, sub)
        reply = self._user(customer, f"{SUBSCRIPTION}/cancel", None, expect,
                           unchanged=bool(sub.cancel_at_period_end))
        if reply.status == 200:
            view = reply.body["subscription"]
            assert (view["cancel_at_period_end"], view["next_invoice_at"]) == (True, None), view

    @rule(pick=PICK)
    def resume(self, pick: int) -> None:
        """Undo a cancellation before the period ends."""
        customer = self._pick(pick, lambda c: self._sub(c) is not None,
                              lambda c: bool(self._sub(c).cancel_at_period_end))
        if customer is None:
            return self.advance()
        sub = self._sub(customer)
        expect = 200 if sub.status == "active" and sub.cancel_at_period_end else 409
        reply = self._user(customer, f"{SUBSCRIPTION}/resume", None, expect)
        if reply.status == 200:
            assert reply.body["subscription"]["cancel_at_period_end"] is False, reply.body

    @rule(rate=st.sampled_from(RATES))
    def the_rate_changes(self, rate: str) -> None:
        """The admin sets the PKR rate: what is issued from now (by the jobs too) is quoted at it,
        issued invoices keep their quotes (the books hold them); 7 decimals are refused."""
        reply = self._send(lambda: self.api.request("PUT", FX_RATE, body={"rate": rate},
                                                    token=RUN.admin_token),
                           200 if rate_ok(rate) else 422)
        self.books.rate_set(reply, rate, ADMIN_EMAIL)

    # Time --------------------------------------------------------------------------------------

    @rule(hours=STEPS)
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(twice=st.booleans())
    def the_jobs_run(self, twice: bool) -> None:
        """The billing jobs as of now; run again at the same time, they find nothing to do."""
        self._run_jobs(twice)

    def _run_jobs(self, twice: bool) -> None:
        at, values = self.now, get_settings()
        with clock.travel(at):
            done = jobs.run(at)
            again = jobs.run(at) if twice else None
        RUN.dirty, self.now = True, at + TAKES
        assert done.finished
        RUN.job_steps.update({name: n for name, n in done.counts().items() if n})
        assert again is None or not any(again.counts().values()), again.counts()
        self.checks.append(partial(expected.nothing_left, at, values))

    def advance(self) -> None:
        """Move a life on: approve the oldest payment awaiting approval; else (every other time)
        pay all of a pending invoice (a renewal as the customers' habit is); else a trial (or,
        every third time, an ended account) subscribes; else the clock goes to just past the
        next time-driven step, and the jobs run."""
        waiting = [p for p, status in self.payments.items() if status == PENDING]
        if waiting:
            return self._decide(waiting[0], approve=True)
        self.advances += 1
        payable = [c for c in self.customers if (invoice := self.ix.invoices.get(
            self._account(c).pending_invoice_id or "")) and not invoice.pending_payment_id
            and expected.pays_now(self.ix, invoice, self.habit)]
        if payable and self.advances % 2:
            return self._pay(payable[0], next(self.ways))
        ready = [c for c in self.customers if expected.can_subscribe(self.ix, self._account(c))
                 and (self.advances % 3 == 0 or self._account(c).status == "trial")]
        if ready:
            return self._subscribe(ready[0], "starter", billing=True)
        due = expected.next_due(self.ix, get_settings())
        if due is not None:
            self.now = max(self.now, due + HOUR)
        self._run_jobs(twice=False)

    # Invariants ----------------------------------------------------------------------------

    @invariant()
    def the_store_is_consistent(self) -> None:
        RUN.invariant_checks += 1
        snap = stored_snapshot()
        ix = Index(snap)
        self.books.learn(snap)  # what the app issued and voided in the step, and the balance used
        hold(ix)  # the invariants, and integrity's rules (agreeing with them)
        checks, self.checks = self.checks, []
        for check in checks:
            check(ix)
        assert {p: ix.payments[p].status for p in ix.payments} == self.payments
        assert not (bad := self.books.problems(snap)), bad
        for sub in ix.subs.values():  # anchors never move
            if sub.anchor:
                assert self.anchors.setdefault(sub.subscription_id, sub.anchor) == sub.anchor
        self.ix = ix

    def teardown(self) -> None:
        """The checker's own Scans see what the invariants saw."""
        if self.requests:
            RUN.examples_with_requests += 1
            assert integrity.verify().lines() == integrity.check(stored_snapshot()).lines()
            RUN.transitions.update((e.entity_type, e.from_status, e.to_status)
                                   for e in self.ix.snap.audit)
            RUN.money.update(self.books.seen + Counter(from_the_balance(self.ix.snap)))


def _run(store: MotoStore, fuzz_seed: int | None, examples: int) -> None:
    runs.play(LifecycleMachine, RUN, store, fuzz_seed, examples)


def test_random_lifecycles_keep_the_store_consistent(moto_module):
    _run(moto_module, runs.FUZZ_SEED, runs.FUZZ_EXAMPLES)
    report(f"hypothesis lifecycle {RUN.summary()}, jobs {dict(sorted(RUN.job_steps.items()))}, "
           f"{len(RUN.transitions)} transitions")
    assert RUN.examples_with_requests >= 20 and RUN.requests >= 300
    assert {200, 201, 409} <= set(RUN.statuses)
    # The runs reached every time-driven step, and the dunning's way back
    assert {"renewal_issued", "period_started", "past_due", "suspended", "cancelled",
            "trial_ended", "voided"} <= set(RUN.job_steps), RUN.job_steps
    assert {("subscription", "past_due", "active"), ("subscription", "active", "cancelled"),
            ("account", "trial", "active")} <= RUN.transitions, sorted(map(str, RUN.transitions))
    # Parts, overpayments and the tolerance, in USD and PKR, and the balance paying renewals
    assert {"USD partial", "PKR overpayment", "USD overpayment", "PKR full", "approved partial",
            "approved overpayment", "approved written off", "renewal part from the balance",
            "renewal paid by the balance"} <= set(RUN.money), RUN.money
    for fuzz_seed, examples in REGRESSION_SEEDS:
        _run(moto_module, fuzz_seed, examples)
