"""The fakes refuse what the providers refuse, so ``fake.problems == []`` in the channel tests means
the rendered request is one the provider takes: a Feishu card without its required fields, DingTalk
markdown without a title, Slack blocks over their limits, Discord embeds over theirs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fakes import dingtalk, discord, feishu, slack, wecom_bot
from tests.fakes.base import FakeProvider


@pytest.fixture
def started() -> Iterator[Callable[[type[FakeProvider]], FakeProvider]]:
    fakes: list[FakeProvider] = []

    def start(cls: type[FakeProvider]) -> FakeProvider:
        fakes.append(cls().start())
        return fakes[-1]

    yield start
    for fake in fakes:
        fake.stop()


def _card(**overrides: Any) -> dict[str, Any]:
    card = {
        "header": {"template": "red", "title": {"tag": "plain_text", "content": "t"}},
        "elements": [{"tag": "markdown", "content": "body"}],
    }
    card.update(overrides)
    return card


def _feishu(fake: FakeProvider, card: dict[str, Any]) -> list[str]:
    ts = str(int(time.time()))
    body = {"msg_type": "interactive", "card": card, "timestamp": ts, "sign": feishu.expected_sign(ts)}
    httpx.post(f"{fake.url}/open-apis/bot/v2/hook/{feishu.TOKEN}", json=body)
    return fake.problems


@pytest.mark.parametrize(
    ("card", "problem"),
    [
        (_card(), None),
        (_card(header={"template": "red"}), "card header without a title"),
        (_card(header={"template": "pink", "title": {"tag": "plain_text", "content": "t"}}), "unknown header template"),
        (_card(elements=[]), "card without elements"),
        (_card(elements=[{"tag": "markdown", "content": ""}]), "markdown element without content"),
        (_card(elements=[{"tag": "action", "actions": [{"tag": "button", "text": {}}]}]), "labelled button"),
        (
            _card(elements=[{"tag": "action", "actions": [{"tag": "button", "text": {"content": "x"}, "url": "x"}]}]),
            "http(s) url",
        ),
    ],
)
def test_feishu_card_fields(started, card: dict[str, Any], problem: str | None) -> None:
    problems = _feishu(started(feishu.FakeFeishu), card)
    assert (problems == []) if problem is None else (len(problems) == 1 and problem in problems[0])


def _dingtalk(fake: FakeProvider, body: dict[str, Any]) -> list[str]:
    ts = str(int(time.time() * 1000))
    params = {"access_token": dingtalk.TOKEN, "timestamp": ts, "sign": dingtalk.expected_sign(ts)}
    httpx.post(f"{fake.url}/robot/send", params=params, json=body)
    return fake.problems


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}}, None),
        ({"msgtype": "markdown", "markdown": {"text": "x"}}, "without a title"),
        ({"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x"}}, "without a button"),
        ({"msgtype": "link", "link": {}}, "unsupported msgtype"),
    ],
)
def test_dingtalk_message_fields(started, body: dict[str, Any], problem: str | None) -> None:
    problems = _dingtalk(started(dingtalk.FakeDingTalk), body)
    assert (problems == []) if problem is None else (len(problems) == 1 and problem in problems[0])


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([_section("ok")], None),
        ([_section("x" * 3001)], "over 3000"),
        ([_section("")], "empty"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "over 150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "not a plain_text"),
        ([_section("a")] * 51, "at most 50"),
        (
            [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]}],
            "over 75",
        ),
    ],
)
def test_slack_block_limits(started, blocks: list[dict[str, Any]], problem: str | None) -> None:
    fake = started(slack.FakeSlack)
    httpx.post(f"{fake.url}{slack.PATH}", json={"text": "t", "blocks": blocks})
    assert (fake.problems == []) if problem is None else (len(fake.problems) == 1 and problem in fake.problems[0])


@pytest.mark.parametrize(
    ("embed", "problem"),
    [
        ({"title": "t", "description": "d", "color": 0xFF0000}, None),
        ({"title": "t" * 257}, "title over 256"),
        ({"description": "d" * 4097}, "description over 4096"),
        ({"footer": {"text": "f" * 2049}}, "footer over 2048"),
        ({"description": "d" * 4000, "fields": [{"name": "n", "value": "v" * 1024}] * 2}, "over 6000"),
        ({"title": "t", "color": 0x1000000}, "24-bit"),
        ({"title": "t", "url": "javascript:x"}, "http(s)"),
    ],
)
def test_discord_embed_limits(started, embed: dict[str, Any], problem: str | None) -> None:
    fake = started(discord.FakeDiscord)
    httpx.post(f"{fake.url}/api/webhooks/{discord.WEBHOOK_ID}/{discord.HOOK_TOKEN}?wait=true", json={"embeds": [embed]})
    assert (fake.problems == []) if problem is None else (len(fake.problems) == 1 and problem in fake.problems[0])


def test_wecom_markdown_over_4096_bytes_is_refused(started) -> None:
    fake = started(wecom_bot.FakeWeComBot)
    body = {"msgtype": "markdown", "markdown": {"content": "构" * 1366}}
    httpx.post(f"{fake.url}/cgi-bin/webhook/send", params={"key": wecom_bot.KEY}, json=body)
    assert len(fake.problems) == 1 and "over 4096 bytes" in fake.problems[0]
