"""Gotify server's /message endpoint."""

from __future__ import annotations

from tests.fakes.base import ChannelCase, FakeProvider, Recorded, Rejected, Reply

TOKEN = "AqT8mZx1Lk9bWf2"
UNAUTHORIZED = Reply(
    401,
    {
        "error": "Unauthorized",
        "errorCode": 401,
        "errorDescription": "you need to provide a valid access token or user credentials to access this api",
    },
)


class FakeGotify(FakeProvider):
    replies = {
        "ok": Reply(
            200, {"id": 25, "appid": 5, "message": "m", "title": "t", "priority": 5, "date": "2026-11-21T06:00:00Z"}
        ),
        "permanent": UNAUTHORIZED,
        "transient": Reply(503, "Service Unavailable"),
        "rate_limited": Reply(429, "Too Many Requests", {"Retry-After": "2"}),
    }

    def check(self, request: Recorded) -> None:
        if request.method != "POST" or request.path != "/message":
            raise Rejected(
                f"bad request line {request.method} {request.path}",
                Reply(404, {"error": "Not Found", "errorCode": 404, "errorDescription": "page not found"}),
            )
        if request.headers.get("x-gotify-key") != TOKEN:
            raise Rejected("bad token", UNAUTHORIZED)
        body = request.json()
        extras = body.get("extras", {})
        display = (extras.get("client::display") or {}).get("contentType", "text/plain")
        click = ((extras.get("client::notification") or {}).get("click") or {}).get("url", "https://x")
        priority = body.get("priority", 0)
        if display not in ("text/plain", "text/markdown") or not str(click).startswith(("http://", "https://")):
            raise Rejected(f"bad extras {extras}", Reply(400, {"error": "Bad Request", "errorCode": 400}))
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise Rejected(f"priority {priority!r}", Reply(400, {"error": "Bad Request", "errorCode": 400}))
        if not body.get("message"):
            raise Rejected(
                "no message",
                Reply(
                    400, {"error": "Bad Request", "errorCode": 400, "errorDescription": "Field 'message' is required"}
                ),
            )


CASE = ChannelCase(
    channel="gotify",
    fake=FakeGotify,
    env=lambda url: {"GOTIFY_URL": url, "GOTIFY_TOKEN": TOKEN, "GOTIFY_PRIORITY": "5"},
    secrets=(TOKEN,),
    permanent_reason="valid access token",
    rate_wait=2.0,
)
