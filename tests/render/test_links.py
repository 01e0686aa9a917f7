"""The message's link: the caller's url, else data.artifact_url, else data.url; http(s) only."""

from __future__ import annotations

import pytest

from mcp_push.render.links import check_url, message_url


def test_the_callers_url_wins_then_the_data() -> None:
    data = {"artifact_url": "https://ci.example.com/a", "url": "https://example.com/u"}
    assert message_url("https://x.io/given", data) == "https://x.io/given"
    assert message_url(None, data) == "https://ci.example.com/a"
    assert message_url(None, {"url": " https://example.com/u "}) == "https://example.com/u"
    assert message_url(None, {"artifact_url": "javascript:alert(1)", "url": "https://ok.io"}) == "https://ok.io"
    assert message_url(None, {"artifact_url": 42}) is None and message_url(None, None) is None


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "/relative", "ftp://x.io/f", "https://", "https:///path", "https://a b", 7]
)
def test_a_bad_url_is_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(ValueError, match="url must"):
        check_url(bad)
    with pytest.raises(ValueError):
        message_url(bad)  # type: ignore[arg-type]
