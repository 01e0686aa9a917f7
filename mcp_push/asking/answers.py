"""Apply an answer that arrived on any path; the ledger's conditional update decides who wins.

Every path (a Telegram button or reply, an ntfy action, the answer page, the CLI) calls one of
the two functions here, and they never raise for a bad answer: the outcome says what happened
and ``message`` is what to tell the person (a toast, the page, the terminal). Nothing is
written unless the answer is valid for its ask; then ``Ledger.answer_ask`` lets the first win.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_push.asking.tokens import ANY_CHOICE, TEXT_CHOICE, AnswerKey, TokenError
from mcp_push.storage.base import AskRecord, Ledger
from mcp_push.terminal import printable
from mcp_push.views import ASK_ANSWERED, ASK_CANCELLED, ASK_WAITING

ACCEPTED = "accepted"  # this answer won
ALREADY = "already_answered"  # the ask had an answer (a replayed token, a second channel)
ENDED = "ended"  # expired or cancelled before this answer
INVALID = "invalid"  # malformed, forged, another home's token, no such ask, or a bad choice

MAX_ANSWER_TEXT = 4000  # characters of a free-text answer (a Telegram message holds 4096)


@dataclass(frozen=True)
class AnswerResult:
    outcome: str  # ACCEPTED | ALREADY | ENDED | INVALID
    message: str  # what to tell the person who answered (a toast, the page)
    ask: AskRecord | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPTED


def apply_token(
    ledger: Ledger,
    key: AnswerKey,
    token: str,
    *,
    via: str,
    by: str | None,
    now: float,
    choice: int | None = None,
    text: str | None = None,
) -> AnswerResult:
    """Check ``token`` and answer its ask. A per-choice token answers with its own choice; an
    ``a`` (link) token needs ``choice`` (or ``text`` when the ask allows text); ``t`` needs ``text``.
    A rejected token never touches the ask."""
    try:
        claim = key.verify(token)
    except TokenError:
        return AnswerResult(INVALID, "This answer button or link is not valid (it was not issued by this mcp-push).")
    ask = ledger.get_ask(claim.ticket)
    if ask is None:
        return AnswerResult(INVALID, "This question no longer exists.")
    if claim.choice == TEXT_CHOICE:
        choice = None
    elif claim.choice != ANY_CHOICE:
        choice, text = claim.index, None
    return _answer(ledger, ask, via=via, by=by, now=now, choice=choice, text=text)


def apply_answer(
    ledger: Ledger,
    ticket: str,
    *,
    via: str,
    by: str | None,
    now: float,
    choice: int | None = None,
    text: str | None = None,
) -> AnswerResult:
    """Answer an ask already identified (a Telegram reply to its message, the CLI)."""
    ask = ledger.get_ask(ticket)
    if ask is None:
        return AnswerResult(INVALID, f"There is no question with ticket {printable(ticket[:80])!r}.")
    return _answer(ledger, ask, via=via, by=by, now=now, choice=choice, text=text)


def choice_index(ask: AskRecord, label: str) -> int | None:
    """The index of the choice labelled ``label`` (case and surrounding space ignored), or None."""
    wanted = label.strip().casefold()
    return next((i for i, c in enumerate(ask.choices) if c.casefold() == wanted), None)


def _answer(
    ledger: Ledger, ask: AskRecord, *, via: str, by: str | None, now: float, choice: int | None, text: str | None
) -> AnswerResult:
    """Check the answer against its ask, then write it (first wins) and say how it went."""
    if choice is not None and text is not None:
        return AnswerResult(INVALID, "Give a choice or a text, not both.", ask)
    if choice is not None:
        if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(ask.choices):
            return AnswerResult(INVALID, f"This question has choices 1-{len(ask.choices)} only.", ask)
        answer = ask.choices[choice]
    elif text is not None:
        if not ask.allow_text:
            listed = ", ".join(ask.choices)
            return AnswerResult(INVALID, f"This question takes one of its choices ({listed}), not a text.", ask)
        answer = text.strip()
        if not answer:
            return AnswerResult(INVALID, "The answer is empty: write some text.", ask)
        if len(answer) > MAX_ANSWER_TEXT:
            return AnswerResult(
                INVALID, f"The answer has {len(answer):,} characters; the limit is {MAX_ANSWER_TEXT:,}.", ask
            )
    else:
        return AnswerResult(INVALID, "Choose one of the answers.", ask)
    won = ask.status == ASK_WAITING and ledger.answer_ask(
        ask.ticket, answer=answer, choice=choice, via=via, by=by, now=now
    )
    final = ledger.get_ask(ask.ticket) or ask  # as written: this answer, or the one that came first
    return AnswerResult(ACCEPTED, f"Answered: {printable(answer[:200])}.", final) if won else _refused(final)


def _refused(ask: AskRecord) -> AnswerResult:
    """Why an answer did not win: another one came first, or the ask ended."""
    if ask.status == ASK_ANSWERED:
        where = f" via {ask.answered_via}" if ask.answered_via else ""
        return AnswerResult(ALREADY, f"Already answered: {printable((ask.answer or '')[:200])}{where}.", ask)
    if ask.status == ASK_CANCELLED:
        return AnswerResult(ENDED, "This question was cancelled.", ask)
    return AnswerResult(ENDED, "This question has expired.", ask)  # expired, or waiting past its deadline
