"""go-cqhttp (OneBot v11 HTTP API): send_private_msg / send_group_msg, token in a Bearer header.

GOBOT_URL is the full API URL as QingLong documents it (…/send_private_msg or
…/send_group_msg); a bare server URL gets the endpoint that matches GOBOT_QQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from mcp_push.channels.base import (
    HttpChannel,
    HttpRequest,
    Message,
    Receipt,
    Setting,
    excerpt,
    json_body,
    raise_for_http,
)
from mcp_push.channels.errors import PermanentError

if TYPE_CHECKING:
    import httpx

ENDPOINTS = {"user_id": "send_private_msg", "group_id": "send_group_msg"}
HINTS = {
    401: "the server wants an access token: set GOBOT_TOKEN",
    403: "GOBOT_TOKEN does not match the server's access-token",
    404: "GOBOT_URL should end in /send_private_msg or /send_group_msg",
}


def parse_target(raw: str) -> tuple[str, str]:
    """``user_id=123`` or ``group_id=456`` -> (field, id)."""
    key, _, value = raw.strip().partition("=")
    key, value = key.strip(), value.strip()
    if key not in ENDPOINTS or not value:
        raise PermanentError(f"GOBOT_QQ must look like user_id=10001 or group_id=20002, got {raw.strip()[:40]!r}")
    return key, value


class GoCqHttp(HttpChannel):
    id = "gocqhttp"
    name = "go-cqhttp"
    settings = (
        Setting("GOBOT_URL", required=True, example="http://127.0.0.1:5700/send_private_msg"),
        Setting("GOBOT_QQ", required=True, example="user_id=10001"),
        Setting("GOBOT_TOKEN", secret=True, example="my-access-token"),
    )

    def request(self, message: Message) -> HttpRequest:
        key, target = parse_target(self.get("GOBOT_QQ"))
        parts = urlsplit(self.get("GOBOT_URL"))
        path = parts.path.rstrip("/")
        if not path.endswith(("/send_private_msg", "/send_group_msg", "/send_msg")):
            path = f"{path}/{ENDPOINTS[key]}"
        payload: dict[str, object] = {
            key: int(target) if target.isdigit() else target,
            "message": self.plain_text(message),
        }
        if path.endswith("/send_msg"):
            payload["message_type"] = "private" if key == "user_id" else "group"
        payload["auto_escape"] = True  # plain text: do not interpret CQ codes in the agent's words
        headers = {"Authorization": f"Bearer {self.get('GOBOT_TOKEN')}"} if self.get("GOBOT_TOKEN") else {}
        url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        return HttpRequest("POST", url, json=payload, headers=headers)

    def interpret(self, response: httpx.Response) -> Receipt:
        if not response.is_success:
            hint = HINTS.get(response.status_code)
            raise_for_http(response, "; ".join(p for p in (excerpt(response), hint) if p) or None)
        body = json_body(response)
        status, retcode = body.get("status"), body.get("retcode")
        if status == "ok" and retcode == 0:
            return Receipt(str((body.get("data") or {}).get("message_id", "")) or None)
        if status == "async":  # accepted, queued by the bot: the outcome is not reported back
            return Receipt()
        detail = " ".join(str(body.get(k)) for k in ("msg", "wording") if body.get(k)) or "no detail"
        # "failed" is usually QQ's risk control or a bad target: retrying in a loop makes it worse.
        raise PermanentError(f"OneBot {status}: {detail} (retcode {retcode})", code=retcode)
