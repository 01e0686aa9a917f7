"""What each agent's blocking hook asks the person, and the decision JSON that agent reads back.

Four hook events wait for an answer from the phone (``mcp-push hook`` does the waiting):

- Claude Code ``PermissionRequest``: Allow / Deny, plus "Always allow" when Claude Code offers
  ``permission_suggestions`` (echoed back as ``updatedPermissions``, as if the person had picked
  that option in the dialog).
- Claude Code ``PreToolUse`` for ``AskUserQuestion``: each question's options become the choices
  (free text too, like the dialog's "Other"); the answers go back in ``updatedInput``.
- Codex ``PermissionRequest``: Allow / Deny only (Codex refuses ``updatedInput`` and
  ``updatedPermissions`` there).
- Gemini CLI ``BeforeTool``: Allow / Deny, as ``{"decision": ..., "reason": ...}``.

Only the documented values are ever produced; anything else (no answer, an answer that does not
map to a decision) yields None, and the hook prints nothing so that the agent's own prompt
decides. The preview of a tool's input is redacted and cut to ``PREVIEW`` characters: it is sent
to a phone. Pure functions: no ledger, no I/O, nothing heavy imported.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_push.storage.base import AskRecord

PREVIEW = 300
MAX_LABEL = 60
MAX_CHOICES = 5
MAX_QUESTION = 1000  # validation.MAX_QUESTION: what an ask's question may hold
ALLOW, ALWAYS, DENY = "Allow", "Always allow", "Deny"
KIND_PERMISSION = "permission"
KIND_QUESTION = "ask_user_question"

Redact = Callable[[str], str]

# Beyond the channel secrets and URL/header patterns the caller's redactor masks: credentials as
# command lines carry them (``--token X``, ``-p=X``) and tokens recognisable by their prefix.
_FLAG_SECRET = re.compile(
    r"(?i)(--?(?:token|access-token|password|passwd|secret|api[-_]?key|auth|key|pat)(?:=|\s+))(\S+)"
)
_PREFIXED_TOKEN = re.compile(
    r"\b(?:gh[pousr]_|github_pat_|glpat-|xox[abprs]-|sk-|sk_live_|sk_test_|rk_live_|AKIA|AIza|npm_|pypi-)"
    r"[A-Za-z0-9_\-]{8,}"
)


@dataclass(frozen=True)
class Prompt:
    """One question of a blocking hook, as an ask (``NewAsk``) is made of."""

    question: str
    choices: tuple[str, ...]
    allow_text: bool
    kind: str
    title: str | None = None  # the notification's title (None: "❓ <question>")


@dataclass(frozen=True)
class BlockingHook:
    """A hook event that waits for the person: the questions to ask (one after the other), and how
    the answers become the agent's decision JSON (None: no valid decision, print nothing)."""

    agent: str  # claude | codex | gemini
    event: str
    run_id: str
    project: str
    prompts: tuple[Prompt, ...]
    decide: Callable[[Sequence[AskRecord]], dict[str, Any] | None]


# --- shared shaping -------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def preview(tool_input: Any, redact: Redact, limit: int = PREVIEW) -> str:
    """A short, redacted look at what the tool would do: the command, the file, the URL, else the JSON."""
    if not isinstance(tool_input, dict):
        return ""
    parts: list[str] = []
    for key in ("command", "file_path", "url", "path", "pattern", "query", "prompt"):
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
            break
    description = _text(tool_input.get("description"))
    if description:
        parts.append(f"({description})")
    if not parts:
        try:
            parts.append(json.dumps(tool_input, ensure_ascii=False, sort_keys=True, default=str))
        except (TypeError, ValueError):
            return ""
    text = _FLAG_SECRET.sub(lambda m: m.group(1) + "***", redact("\n".join(parts)))
    return cut(_PREFIXED_TOKEN.sub("***", text), limit)


def _project(payload: dict[str, Any]) -> str:
    cwd = _text(payload.get("cwd")) or os.getcwd()
    return os.path.basename(cwd.rstrip("/\\")) or cwd


def _label(answer: AskRecord) -> str | None:
    """The chosen label of an answered ask (None for free text or no answer)."""
    if answer.status != "answered" or answer.choice is None:
        return None
    if 0 <= answer.choice < len(answer.choices):
        return answer.choices[answer.choice]
    return None


def _via(answer: AskRecord) -> str:
    return f"on {answer.answered_via}" if answer.answered_via else "from the phone"


def _permission_prompt(agent_name: str, p: dict[str, Any], project: str, redact: Redact, always: bool) -> Prompt:
    tool = _text(p.get("tool_name")) or "a tool"
    seen = preview(p.get("tool_input"), redact)
    question = f"{agent_name} wants to use {tool} in {project}."
    if seen:
        question += f"\n\n{seen}"
    choices = (ALLOW, ALWAYS, DENY) if always else (ALLOW, DENY)
    title = cut(f"🔐 {agent_name}: allow {tool}? · {project}", 120)
    return Prompt(question, choices, False, KIND_PERMISSION, title)


def _deny_message(answer: AskRecord) -> str:
    return f"The person denied this {_via(answer)} (mcp-push)."


def _permission_request(
    agent: str, agent_name: str, p: dict[str, Any], run_id: str, redact: Redact, suggestions: list[dict[str, Any]]
) -> BlockingHook:
    """A ``PermissionRequest`` (Claude Code's and Codex's share one decision shape): Allow / Deny, and
    "Always allow" only when there are ``suggestions`` to echo back as ``updatedPermissions``."""
    project = _project(p)
    prompt = _permission_prompt(agent_name, p, project, redact, always=bool(suggestions))

    def decide(answers: Sequence[AskRecord]) -> dict[str, Any] | None:
        label = _label(answers[0]) if answers else None
        if label == ALLOW:
            decision: dict[str, Any] = {"behavior": "allow"}
        elif label == ALWAYS and suggestions:
            decision = {"behavior": "allow", "updatedPermissions": suggestions}
        elif label == DENY:
            decision = {"behavior": "deny", "message": _deny_message(answers[0])}
        else:
            return None
        return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}

    return BlockingHook(agent, "PermissionRequest", run_id, project, (prompt,), decide)


# --- Claude Code ----------------------------------------------------------------------------


def _claude_permission(p: dict[str, Any], run_id: str, redact: Redact) -> BlockingHook:
    raw = p.get("permission_suggestions")
    suggestions = [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
    return _permission_request("claude", "Claude Code", p, run_id, redact, suggestions)


def _questions(tool_input: Any) -> list[dict[str, Any]] | None:
    """AskUserQuestion's questions, each with a question text and 1-5 option labels; None if unusable."""
    if not isinstance(tool_input, dict) or not isinstance(tool_input.get("questions"), list):
        return None
    found = []
    for item in tool_input["questions"]:
        if not isinstance(item, dict) or not _text(item.get("question")):
            return None
        options = item.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= MAX_CHOICES:
            return None
        labels = [_text(o.get("label")) if isinstance(o, dict) else "" for o in options]
        if not all(labels) or len(set(labels)) != len(labels):
            return None
        found.append(item)
    return found or None


def _question_prompt(item: dict[str, Any], project: str, number: int, total: int) -> Prompt:
    head = _text(item.get("header"))
    lines = [f"Claude Code asks ({project}{f', {number} of {total}' if total > 1 else ''}):"]
    lines.append(cut(f"{head}: {item['question'].strip()}" if head else item["question"].strip(), 500))
    described = [
        f"{cut(o['label'].strip(), MAX_LABEL)}: {cut(o['description'], 120)}"
        for o in item["options"]
        if _text(o.get("description"))
    ]
    if described:
        lines.append("")
        lines.extend(described)
    if item.get("multiSelect") is True:
        lines.append("(several allowed: pick one, or reply with the labels separated by commas)")
    labels = tuple(cut(" ".join(o["label"].split()), MAX_LABEL) for o in item["options"])
    return Prompt(cut("\n".join(lines), MAX_QUESTION), labels, True, KIND_QUESTION)


def _claude_ask_user_question(p: dict[str, Any], run_id: str) -> BlockingHook | None:
    tool_input = p.get("tool_input")
    questions = _questions(tool_input)
    if questions is None:
        return None
    project = _project(p)
    prompts = tuple(_question_prompt(q, project, i + 1, len(questions)) for i, q in enumerate(questions))
    original = dict(tool_input) if isinstance(tool_input, dict) else {}

    def decide(answers: Sequence[AskRecord]) -> dict[str, Any] | None:
        if len(answers) != len(questions):
            return None
        chosen: dict[str, str] = {}
        for item, answer in zip(questions, answers, strict=True):
            if answer.status != "answered":
                return None
            if answer.choice is not None:
                if not 0 <= answer.choice < len(item["options"]):
                    return None
                value = item["options"][answer.choice]["label"].strip()  # the label as Claude wrote it
            else:
                value = (answer.answer or "").strip()
            if not value:
                return None
            chosen[item["question"]] = value
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "allow",
                "updatedInput": {**original, "answers": chosen},
            }
        }

    return BlockingHook("claude", "PreToolUse", run_id, project, prompts, decide)


# --- Codex and Gemini CLI ---------------------------------------------------------------------


def _codex_permission(p: dict[str, Any], run_id: str, redact: Redact) -> BlockingHook:
    return _permission_request("codex", "Codex", p, run_id, redact, [])  # Codex refuses updatedPermissions


def _gemini_before_tool(p: dict[str, Any], run_id: str, redact: Redact) -> BlockingHook:
    project = _project(p)
    prompt = _permission_prompt("Gemini CLI", p, project, redact, always=False)

    def decide(answers: Sequence[AskRecord]) -> dict[str, Any] | None:
        label = _label(answers[0]) if answers else None
        if label == ALLOW:
            return {"decision": "allow", "reason": f"The person allowed this {_via(answers[0])} (mcp-push)."}
        if label == DENY:
            return {"decision": "deny", "reason": _deny_message(answers[0])}
        return None

    return BlockingHook("gemini", "BeforeTool", run_id, project, (prompt,), decide)


# --- which events block ------------------------------------------------------------------------


def is_codex(payload: dict[str, Any]) -> bool:
    """Codex's hook payloads carry ``turn_id`` and ``model`` (required in its schema); Claude Code's do not."""
    from mcp_push.hooks import is_codex as told_apart  # one rule, kept where every hook event is sorted

    return told_apart(payload)


def blocking_hook(
    payload: dict[str, Any], redact: Redact, make_run_id: Callable[[str, str], str]
) -> BlockingHook | None:
    """The blocking hook for this payload, or None when the event is not one that waits for the person."""
    event = _text(payload.get("hook_event_name"))
    session = _text(payload.get("session_id")) or _project(payload)
    if event == "PermissionRequest":
        if is_codex(payload):
            return _codex_permission(payload, make_run_id("codex", session), redact)
        return _claude_permission(payload, make_run_id("claude", session), redact)
    if event == "PreToolUse" and _text(payload.get("tool_name")) == "AskUserQuestion":
        return _claude_ask_user_question(payload, make_run_id("claude", session))
    if event == "BeforeTool":
        return _gemini_before_tool(payload, make_run_id("gemini", session), redact)
    return None
