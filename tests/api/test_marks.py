"""The marks say what a test starts, so that `-m` selects by it: `make test-fast`
(`-m "not live and not browser"`) starts no devserver and no Chromium, `-m browser` runs the
browser tests. The root conftest marks at collection; what it cannot see fails at run time."""
from __future__ import annotations

import pytest

from tests import conftest

STACK_FIXTURES = {"live_stack"}  # the shared local stack (the browser tests use it through `web`)


def test_an_unmarked_test_that_starts_a_devserver_fails() -> None:
    # Given this test, which is not marked live
    # When it starts a devserver (the check `devserver()` makes before it launches anything)
    # Then it fails, saying which mark it lacks
    with pytest.raises(pytest.fail.Exception, match="is not marked 'live'"):
        conftest.require_mark("live", "starts a devserver")


def test_an_unmarked_test_that_starts_chromium_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="is not marked 'browser'"):
        conftest.require_mark("browser", "starts Chromium")


def test_the_browser_tests_and_only_they_are_marked_browser(request: pytest.FixtureRequest) -> None:
    collected = request.config.stash[conftest.COLLECTED]  # this run's tests, before -m selects
    for nodeid, (marks, _) in collected.items():
        in_browser_dir = nodeid.startswith("tests/browser/")
        assert ("browser" in marks) == in_browser_dir, (nodeid, marks)
        assert "live" in marks or not in_browser_dir, (nodeid, marks)


def test_a_test_on_the_local_stack_is_marked_live(request: pytest.FixtureRequest) -> None:
    collected = request.config.stash[conftest.COLLECTED]
    for nodeid, (marks, fixtures) in collected.items():
        assert "live" in marks or not STACK_FIXTURES & fixtures, (nodeid, marks)
    assert "live" not in collected[request.node.nodeid][0]
