"""Slack webhook: the URL's token stays secret, success needs the body `ok`."""

from __future__ import annotations

import httpx
import pytest

from mcp_push.channels import HttpClients, PermanentError
from mcp_push.channels.slack import Slack

SLACK = "https://hooks.slack.com/services/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"


def test_slack_rate_key_and_errors_hide_the_url() -> None:
    ch = Slack({"SLACK_WEBHOOK_URL": SLACK}, clients=HttpClients(5))
    assert "q8W9e0R1" not in ch.rate_key() and ch.rate_key().startswith("slack:")
    assert ch.redact("POST http://127.0.0.1:9/services/T0A1B2C3D/B4E5F6G7H/q8W9e0R1t2Y3u4I5o6P7a8S9") == (
        "POST http://127.0.0.1:9/***"
    )


def test_slack_200_without_ok_is_a_failure() -> None:
    ch = Slack({"SLACK_WEBHOOK_URL": SLACK}, clients=HttpClients(5))
    with pytest.raises(PermanentError, match="without 'ok'"):
        ch.interpret(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(PermanentError, match=r"channel_is_archived: .*unarchive"):
        ch.interpret(httpx.Response(410, text="channel_is_archived"))
