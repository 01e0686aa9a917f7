"""Slack incoming webhooks (hooks.slack.com/services/T/B/X), plain-text answers."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

PATH = "/services/T0A1B2C3D/B4E5F6G7H/q8W9e0R1t2Y3u4I5o6P7a8S9"
URL = f"https://hooks.slack.com{PATH}"
HOOK_TOKEN = PATH.rpartition("/")[2]


class FakeSlack(FakeProvider):
    replies = {
        "ok": Reply(200, "ok"),
        "permanent": Reply(404, "channel_not_found"),
        "transient": Reply(500, "internal_error"),
        "rate_limited": Reply(429, "rate_limited", {"Retry-After": "2"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST":
            raise Rejected(f"method {request.method}", Reply(405, "invalid_method"))
        if request.path != PATH:
            raise Rejected(f"bad path {request.path}", Reply(403, "invalid_token"))
        if "application/json" not in request.headers.get("content-type", ""):
            raise Rejected("not JSON", Reply(400, "invalid_payload"))
        body = request.json()
        if not body.get("text"):
            raise Rejected("no text", Reply(400, "no_text"))
        problem = _blocks_problem(body.get("blocks", []))
        if problem:
            raise Rejected(problem, Reply(400, "invalid_blocks"))


def _text_problem(obj: object, kind: str, limit: int, where: str) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") != kind:
        return f"{where}: not a {kind} text object"
    text = obj.get("text")
    if not isinstance(text, str) or not text or len(text) > limit:
        return f"{where}: text empty or over {limit} characters"
    return None


def _blocks_problem(blocks: object) -> str | None:
    """Slack's Block Kit limits for what mcp-push sends: at most 50 blocks; header plain_text
    ≤150; section text ≤3000; context ≤10 elements; actions ≤25 buttons, label ≤75, url ≤3000."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "blocks is not a list of at most 50"
    for n, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{n}] ({kind})"
        if kind == "header":
            problem = _text_problem(block.get("text"), "plain_text", 150, where)
        elif kind == "section":
            problem = _text_problem(block.get("text"), "mrkdwn", 3000, where)
        elif kind == "context":
            elements = block.get("elements") or []
            problem = None if 0 < len(elements) <= 10 else f"{where}: 1-10 elements"
            for element in elements:
                problem = problem or _text_problem(element, "mrkdwn", 3000, where)
        elif kind == "actions":
            elements = block.get("elements") or []
            problem = None if 0 < len(elements) <= 25 else f"{where}: 1-25 elements"
            for element in elements:
                if element.get("type") != "button":
                    problem = problem or f"{where}: not a button"
                problem = problem or _text_problem(element.get("text"), "plain_text", 75, where)
                url = element.get("url", "")
                if not isinstance(url, str) or len(url) > 3000:
                    problem = problem or f"{where}: button url over 3000 characters"
        else:
            problem = f"{where}: unexpected block type"
        if problem:
            return problem
    return None


CASE = ChannelCase(
    channel="slack",
    fake=FakeSlack,
    env=lambda url: {"SLACK_WEBHOOK_URL": URL, "MCP_PUSH_ORIGIN_SLACK": url},
    secrets=(URL, HOOK_TOKEN),
    permanent_reason="channel_not_found",
    rate_wait=2.0,
)
