"""Every channel's request for each golden message is the checked-in one, and its fake accepts it."""

from __future__ import annotations

import pytest

from tests.golden import CASES, PENDING, capture, channels, diff, fake_cases, path_for

PARAMS = [pytest.param(channel, case, id=f"{channel}-{case}") for channel in channels() for case in CASES]


@pytest.mark.parametrize(("channel", "case"), PARAMS)
def test_request_is_the_golden_one(channel: str, case: str) -> None:
    got, problems = capture(channel, CASES[case])
    assert problems == [], f"{channel}/{case}: the fake refused the request"
    path = path_for(channel, case)
    assert path.exists(), f"{path} is missing: run `python -m tests.golden --update`"
    want = path.read_text()
    assert got == want, f"{channel}/{case} changed; if intended run `python -m tests.golden --update`:\n" + diff(
        want, got, path.name
    )


def test_every_fake_channel_is_covered_or_pending() -> None:
    """A new channel's fake is picked up by itself; only the pending ones are left out."""
    assert set(fake_cases()) - set(channels()) == PENDING


def test_the_cases_cover_what_the_issue_names() -> None:
    joined = "".join(m.title + m.content for m in CASES.values())
    assert "_*[]()~>#+-=|{}.!" in joined and "<&>" in joined
    assert "构建" in joined and "🚀" in joined
    assert max(len(m.content) for m in CASES.values()) == 5000
    assert "```" in joined and "](https://" in joined and "\n  - " in joined
    assert any(m.event == "error" and m.url for m in CASES.values())
