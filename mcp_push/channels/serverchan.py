"""ServerChan (Server酱) Turbo and SC3: POST {host}/{SENDKEY}.send with a title and Markdown ``desp``.

``desp`` is Markdown: the content rendered as clean CommonMark (mcp_push.render), where a line
break inside a paragraph is kept as a hard break. The SendKey travels in the URL path: a secret.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mcp_push.channels.base import HttpChannel, HttpRequest, Message, Receipt, Setting, code_error, json_body
from mcp_push.channels.errors import PermanentError, RateLimitedError

if TYPE_CHECKING:
    import httpx

SC3_KEY = re.compile(r"^sctp(\d+)t")
# 429 means this IP used up its 24-hour call allowance. The window rolls, so come back hourly
# (until the delivery's maximum age) rather than after a full day.
DAILY_CAP_WAIT = 3600.0


class ServerChan(HttpChannel):
    id = "serverchan"
    name = "ServerChan"
    dialect = "serverchan"
    settings = (Setting("PUSH_KEY", required=True, secret=True, example="SCT123456TAbCdEfGhIjKlMnOpQrStUvWxYz"),)

    def url(self) -> str:
        key = self.get("PUSH_KEY")
        sc3 = SC3_KEY.match(key)
        if sc3:
            return f"https://{sc3.group(1)}.push.ft07.com/send/{key}.send"
        return f"https://sctapi.ftqq.com/{key}.send"

    def request(self, message: Message) -> HttpRequest:
        title = " ".join(message.title.split())  # a line break in the title makes ServerChan fail
        return HttpRequest("POST", self.url(), data={"title": title, "desp": self.render_body(message)})

    def interpret(self, response: httpx.Response) -> Receipt:
        if response.status_code == 429:
            raise RateLimitedError(
                "ServerChan: this IP reached its 24-hour call limit (HTTP 429)", code=429, retry_after=DAILY_CAP_WAIT
            )
        body = json_body(response)
        code = body.get("code", response.status_code)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if code == 0 and data.get("errno", 0) == 0:
            return Receipt(str(data["pushid"]) if data.get("pushid") else None)
        text = str(body.get("message") or data.get("error") or body.get("info") or "")
        if code == 0:
            raise PermanentError(f"{text} (errno {data.get('errno')})", code=data.get("errno"))
        raise code_error(response, code, text)
