"""Repeated failed logins of one email are slowed down: 429 with Retry-After, counted in DynamoDB."""
from __future__ import annotations

import json

import pytest

from chalicelib.accounts import login, throttle
from chalicelib.storage.models.accounts import LoginFailureModel
from tests.conftest import PASSWORD, Api
from tests.helpers import assert_error

LOGIN = "/api/v1/auth/login"
WINDOW = 900  # the default LOGIN_WINDOW_SECONDS
LIMIT = 5  # the default LOGIN_MAX_FAILURES


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A frozen clock for the failure windows: set `clock[0]` to move it."""
    moment = [1_800_000_000.0 - 1_800_000_000.0 % WINDOW + 10]  # 10 s into a window
    monkeypatch.setattr(throttle.time, "time", lambda: moment[0])
    return moment


def _fail(api: Api, email: str = "ayesha@khan.pk") -> int:
    return api.post(LOGIN, {"email": email, "password": "not the password"}).status


def test_the_sixth_failure_in_a_window_is_refused_even_with_the_right_password(
        api: Api, clock: list[float]) -> None:
    assert api.register("ayesha@khan.pk").status == 201
    signups = {item.bucket_id for item in LoginFailureModel.scan()}  # the signup throttle's
    assert [_fail(api) for _ in range(LIMIT)] == [401] * LIMIT
    reply = api.post(LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD})
    error = assert_error(reply, 429, "too_many_login_attempts")
    assert "try again later" in error["message"]
    assert int(reply.headers["retry-after"]) == WINDOW - 10  # till this window ends
    # And a refused attempt is not counted: each counter (the address and email's, the
    # address's own) stays at the limit
    assert sorted(item.failures for item in LoginFailureModel.scan()
                  if item.bucket_id not in signups) == [LIMIT, LIMIT]


def test_an_unknown_email_is_throttled_the_same_way(api: Api, clock: list[float]) -> None:
    statuses = [_fail(api, "nobody@khan.pk") for _ in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429]


def test_failures_of_one_email_never_lock_out_another(api: Api, clock: list[float]) -> None:
    assert api.register("other@khan.pk").status == 201
    for _ in range(LIMIT + 1):
        _fail(api)
    assert api.post(LOGIN, {"email": "other@khan.pk", "password": PASSWORD}).status == 200


def test_the_lock_fades_with_the_window_and_a_login_works_again(api: Api, clock: list[float]) -> None:
    assert api.register("ayesha@khan.pk").status == 201
    for _ in range(LIMIT):
        _fail(api)
    clock[0] += WINDOW - 10  # the start of the next window: the 5 failures still weigh fully
    reply = api.post(LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD})
    assert_error(reply, 429)
    clock[0] += int(reply.headers["retry-after"])
    assert api.post(LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD}).status == 200


def test_the_counter_names_no_email_and_expires(api: Api, clock: list[float]) -> None:
    _fail(api, "private@khan.pk")
    items = list(LoginFailureModel.scan())
    assert len(items) == 2  # the (address, email) counter and the address's
    for item in items:
        assert "private" not in json.dumps(item.serialize())
        assert "127.0.0" not in json.dumps(item.serialize())
        assert item.expires_at.timestamp() > clock[0] + WINDOW


def _from(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setattr(throttle, "client_address", lambda: address)


def test_a_strangers_failures_never_lock_the_owner_out_from_another_address(
        api: Api, clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.register("ayesha@khan.pk").status == 201
    _from(monkeypatch, "203.0.113.7")
    assert [_fail(api) for _ in range(LIMIT)] == [401] * LIMIT
    assert_error(api.post(LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD}), 429)
    _from(monkeypatch, "198.51.100.1")  # the owner, elsewhere
    assert api.post(LOGIN, {"email": "ayesha@khan.pk", "password": PASSWORD}).status == 200


def test_one_address_failing_across_many_emails_is_throttled_on_its_own(
        api: Api, clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    _from(monkeypatch, "203.0.113.7")
    statuses = [_fail(api, f"victim{i}@khan.pk") for i in range(21)]
    assert statuses == [401] * 20 + [429]  # LOGIN_MAX_FAILURES_PER_CLIENT (20), one per email
    _from(monkeypatch, "198.51.100.1")
    assert _fail(api, "victim0@khan.pk") == 401


def test_the_delay_grows_with_the_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle.time, "time", lambda: 1_800_000_000 - 1_800_000_000 % WINDOW + 10)
    window = login.failure_window("x@example.com")
    waits = [window.wait_seconds(failures, 0) for failures in (5, 6, 8, 10)]
    assert waits == sorted(waits) and len(set(waits)) == 4


@pytest.mark.parametrize("current, previous, elapsed, expected", [
    (4, 0, 10, 0),          # under the limit
    (5, 0, 10, 890),        # at the limit: until this window ends, then its weight fades
    (10, 0, 10, 890 + 450),  # twice the limit: half of the next window too
    (0, 5, 0, 1),           # the previous window's 5 fade immediately below 5
    (2, 6, 300, 150),       # 2 + 6 * (1 - t/900) < 5 once t > 450
])
def test_retry_after_is_when_the_estimate_falls_under_the_limit(
        monkeypatch: pytest.MonkeyPatch, current: int, previous: int, elapsed: float,
        expected: int) -> None:
    monkeypatch.setattr(throttle.time, "time", lambda: 1_800_000_000 - 1_800_000_000 % WINDOW + elapsed)
    window = login.failure_window("x@example.com")
    assert window.wait_seconds(current, previous) == expected
