"""The answer page: ``/answer/<token>``, where a phone answers an ask from a link in any message.

GET shows the question and one button per choice (a text field when the ask takes text); it
never answers, so a link previewer that fetches the page changes nothing. Only a POST from the
page's own form answers, through ``apply_token`` (the ledger's first-answer-wins update). The
token in the path is the proof: the page needs no login (the phone has none), and the HTTP
transport serves it outside its bearer token, behind the same Host/Origin gate as everything
else. Invalid tokens are counted per client address in the ledger (shared by every process);
after ``FAIL_LIMIT`` in ``FAIL_WINDOW`` that address is refused for a while. The page is one
self-contained document: inline CSS under a nonce CSP, no script, every value escaped.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mcp_push.asking.answers import ACCEPTED, ALREADY, ENDED, INVALID, AnswerResult, apply_token
from mcp_push.asking.tokens import ANY_CHOICE, MAX_TOKEN, TEXT_CHOICE, AnswerKey, TokenError
from mcp_push.config import Settings
from mcp_push.storage.base import AskRecord, Ledger

log = logging.getLogger(__name__)

ANSWER_PATH = "/answer"
FAIL_LIMIT = 10  # after this many invalid tokens from one address ...
FAIL_WINDOW = 600.0  # ... within this many seconds, it is refused until the oldest ages out
MAX_BODY = 8 * 1024
MAX_TEXT = 2000

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 16px; background: #f4f6f9; color: #0f172a;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 34rem; margin: 0 auto; background: #fff; border-radius: 12px; padding: 20px;
  box-shadow: 0 1px 3px rgba(15, 23, 42, .12); }
h1 { font-size: 1.15rem; margin: 0 0 12px; }
.q { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 16px; }
.meta { color: #64748b; font-size: .85rem; margin: 12px 0 0; }
form { margin: 0 0 10px; }
button { display: block; width: 100%; margin: 0 0 10px; padding: 14px; font: inherit; font-weight: 600;
  border: 0; border-radius: 10px; background: #2563eb; color: #fff; cursor: pointer; }
button.deny { background: #dc2626; }
textarea { width: 100%; min-height: 5rem; font: inherit; padding: 10px; border: 1px solid #cbd5e1;
  border-radius: 10px; margin: 0 0 10px; }
.ok { color: #166534; } .bad { color: #991b1b; }
@media (prefers-color-scheme: dark) {
  body { background: #0b1120; color: #e5e7eb; } main { background: #111827; box-shadow: none; }
  textarea { background: #0f172a; color: inherit; border-color: #334155; }
  .ok { color: #86efac; } .bad { color: #fca5a5; }
}
"""


def _headers(nonce: str) -> dict[str, str]:
    """No script at all; styles only with this response's nonce; forms post only to this page."""
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # The token is in the URL: it never leaves in a Referer to another site. Not "no-referrer":
        # then browsers send the form's POST with `Origin: null`, which the Host/Origin gate refuses.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "X-Robots-Tag": "noindex, nofollow",
    }


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _document(nonce: str, heading: str, body: str, tone: str = "") -> str:
    klass = f' class="{tone}"' if tone else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><title>mcp-push · answer</title>'
        f'<style nonce="{nonce}">{STYLE}</style></head><body><main>'
        f"<h1{klass}>{esc(heading)}</h1>{body}</main></body></html>"
    )


def _remaining(ask: AskRecord, now: float) -> str:
    left = max(0, int(ask.expires_at - now))
    if left >= 3600:
        return f"{left // 3600} h {left % 3600 // 60} min"
    return f"{left // 60} min {left % 60} s" if left >= 60 else f"{left} s"


def _question_form(ask: AskRecord, choice: str, now: float) -> str:
    parts = [f'<p class="q">{esc(ask.question)}</p>']
    indexes = range(len(ask.choices)) if choice == ANY_CHOICE else []
    if choice.isdigit() and int(choice) < len(ask.choices):
        indexes = [int(choice)]
    if indexes:
        parts.append('<form method="post">')
        for i in indexes:
            label = ask.choices[i]
            deny = ' class="deny"' if label.strip().lower() in ("deny", "no", "reject") else ""
            parts.append(f'<button type="submit" name="choice" value="{i}"{deny}>{esc(label)}</button>')
        parts.append("</form>")
    if ask.allow_text and choice in (ANY_CHOICE, TEXT_CHOICE):
        parts.append(
            '<form method="post"><textarea name="text" required maxlength="2000" '
            'aria-label="Your answer" placeholder="Or type an answer"></textarea>'
            '<button type="submit">Send</button></form>'
        )
    parts.append(f'<p class="meta">Open for another {esc(_remaining(ask, now))}. The first answer counts.</p>')
    return "".join(parts)


def _ended_text(ask: AskRecord) -> tuple[str, str]:
    if ask.status == "answered":
        via = f" (via {ask.answered_via})" if ask.answered_via else ""
        return (
            "Already answered",
            f'<p class="q">{esc(ask.question)}</p><p>Answer: <b>{esc(ask.answer)}</b>{esc(via)}</p>',
        )
    said = {"expired": "It expired before anyone answered.", "cancelled": "It was cancelled."}
    return (
        "This question has ended",
        f'<p class="q">{esc(ask.question)}</p><p>{esc(said.get(ask.status, said["expired"]))}</p>',
    )


class AnswerPage:
    """The GET and POST handlers over one ledger and one home's answer key."""

    def __init__(self, ledger: Ledger, settings: Settings, clock: Callable[[], float] = time.time):
        self.ledger = ledger
        self.settings = settings
        self.clock = clock
        self._key: AnswerKey | None = None

    @property
    def key(self) -> AnswerKey:
        if self._key is None:
            self._key = AnswerKey.load(self.settings.home)
        return self._key

    # --- the failed-attempt limiter (shared by every process through the ledger) ---------------
    @staticmethod
    def _who(address: str) -> str:
        return hashlib.sha256(address.encode("utf-8")).hexdigest()[:24]

    def blocked(self, address: str) -> bool:
        return self.ledger.cache_get(f"answer-block:{self._who(address)}", self.clock()) is not None

    def failed(self, address: str) -> None:
        now = self.clock()
        # FAIL_LIMIT - 1 slots: the FAIL_LIMIT-th failure within the window finds none left and blocks.
        wait = self.ledger.reserve_rate(f"answer-fail:{self._who(address)}", FAIL_LIMIT - 1, FAIL_WINDOW, now)
        if wait > 0:
            log.warning("answer page: too many invalid links from one address; refusing it for %.0f s", wait)
            self.ledger.cache_put(f"answer-block:{self._who(address)}", "1", now + wait)

    # --- the requests ------------------------------------------------------------------------------
    def _claim(self, token: str) -> tuple[str, AskRecord] | None:
        """The token's choice and its ask, or None for a token that is not valid here (no ask touched)."""
        if len(token) > MAX_TOKEN:
            return None
        try:
            claim = self.key.verify(token)
        except TokenError:
            return None
        ask = self.ledger.get_ask(claim.ticket)
        return None if ask is None else (claim.choice, ask)

    def show(self, token: str, address: str, nonce: str) -> tuple[int, str]:
        found = self._claim(token)
        if found is None:
            self.failed(address)
            return 404, _invalid(nonce)
        choice, ask = found
        now = self.clock()
        if ask.status == "waiting" and ask.expires_at > now:
            return 200, _document(nonce, "mcp-push asks", _question_form(ask, choice, now))
        heading, body = _ended_text(ask)
        return 200, _document(nonce, heading, body)

    def answer(self, token: str, address: str, nonce: str, form: dict[str, str]) -> tuple[int, str]:
        choice: int | None = None
        raw = form.get("choice", "").strip()
        if raw:
            if not raw.isdigit() or len(raw) > 2:
                self.failed(address)
                return 400, _invalid(nonce)
            choice = int(raw)
        text = form.get("text", "").strip()[:MAX_TEXT] or None
        if choice is None and text is None:
            return 400, _document(nonce, "Nothing chosen", "<p>Go back and press one of the buttons.</p>", "bad")
        result = apply_token(
            self.ledger, self.key, token, via="link", by=address, now=self.clock(), choice=choice, text=text
        )
        if result.outcome == INVALID:
            self.failed(address)
        return _result_page(result, nonce)


def _invalid(nonce: str) -> str:
    return _document(
        nonce,
        "This link is not valid",
        "<p>It may be mistyped or from another mcp-push. Answer in the terminal or from the message.</p>",
        "bad",
    )


def _result_page(result: AnswerResult, nonce: str) -> tuple[int, str]:
    ask = result.ask
    if result.outcome == ACCEPTED:
        answer = ask.answer if ask is not None and ask.answer is not None else result.message
        return 200, _document(nonce, f"Answered: {answer}", "<p>Thank you. You can close this page.</p>", "ok")
    if result.outcome == ALREADY:
        if ask is not None:
            heading, body = _ended_text(ask)
            return 409, _document(nonce, heading, body, "bad")
        return 409, _document(nonce, "Already answered", f"<p>{esc(result.message)}</p>", "bad")
    if result.outcome == ENDED:
        if ask is not None:
            heading, body = _ended_text(ask)
            return 410, _document(nonce, heading, body, "bad")
        return 410, _document(nonce, "This question has ended", f"<p>{esc(result.message)}</p>", "bad")
    return 404, _invalid(nonce)


def _source_parts(source: Any, settings: Settings | None) -> tuple[Ledger, Settings]:
    ledger = source if isinstance(source, Ledger) else getattr(source, "ledger", None)
    found = settings or getattr(source, "settings", None)
    if not isinstance(ledger, Ledger) or not isinstance(found, Settings):
        raise TypeError("answer_routes takes a Runtime, or a Ledger with settings=")
    return ledger, found


def answer_routes(
    source: Any, *, settings: Settings | None = None, clock: Callable[[], float] = time.time
) -> list[Route]:
    """The page's routes (``/answer/{token}``, GET and POST) over a Runtime or a Ledger."""
    ledger, found = _source_parts(source, settings)
    page = AnswerPage(ledger, found, clock)

    async def endpoint(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        token = str(request.path_params.get("token", ""))
        address = request.client.host if request.client else "unknown"
        try:
            if await run_in_threadpool(page.blocked, address):
                body = _document(
                    nonce, "Too many invalid links", "<p>Wait a few minutes, then open the link again.</p>", "bad"
                )
                return HTMLResponse(body, status_code=429, headers={**_headers(nonce), "Retry-After": "600"})
            if request.method in ("GET", "HEAD"):
                status, body = await run_in_threadpool(page.show, token, address, nonce)
            else:
                raw = await _read_body(request)
                if raw is None:
                    return HTMLResponse(_invalid(nonce), status_code=413, headers=_headers(nonce))
                form = _form(raw)
                if form is None:
                    return HTMLResponse(_invalid(nonce), status_code=400, headers=_headers(nonce))
                status, body = await run_in_threadpool(page.answer, token, address, nonce, form)
        except Exception:  # the details (a database URL...) belong in the server log only
            log.exception("the answer page could not read or write the ledger")
            body = _document(nonce, "Something went wrong", "<p>Try again in a moment.</p>", "bad")
            return HTMLResponse(body, status_code=503, headers=_headers(nonce))
        return HTMLResponse(body, status_code=status, headers=_headers(nonce))

    return [Route(ANSWER_PATH + "/{token}", endpoint, methods=["GET", "POST"])]


def _form(raw: bytes) -> dict[str, str] | None:
    """The urlencoded fields of the page's form (``choice`` or ``text``); None if it is not one."""
    try:
        parsed = parse_qs(raw.decode("utf-8"), max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in parsed.items()}


async def _read_body(request: Request) -> bytes | None:
    """The form body, or None past MAX_BODY (a form of one button is a few bytes)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
