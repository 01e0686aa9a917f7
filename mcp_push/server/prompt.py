"""The mcp-push-guidelines prompt: when an agent should notify or ask a person, and when not."""

GUIDELINES = """\
You can notify the user through mcp-push. Their attention is precious: notify only when it \
helps them.

Notify (notify_event with event "end" or "error", or notify_send):
- a long task finished (more than a few minutes, or the user stepped away): say what was \
done and the outcome, success or failure, in one or two sentences;
- a task failed or is blocked and cannot continue without them;
- you need the user to decide or approve something before you can go on: ask (below).

Do not notify:
- when you start a task or for routine progress (use event "start" / "update" only if the \
user asked for them; they are recorded, and pushed only when configured);
- for every step of a task, or repeatedly about the same thing;
- for short tasks the user is watching.

How:
- Use one run_id per task (for example the session or job id) on every call, so \
notify_status(run_id) shows the whole story.
- Pass an idempotency_key when you might retry the same call, so it is sent once.
- notify_send / notify_event return at once with a ticket; delivery happens in the \
background. Call notify_status(ticket=...) only if you must know that it arrived.
- Keep titles short; put details in the content or message.

Ask (notify_ask, then notify_wait) when you cannot go on without the user's decision and \
they may be away from the terminal:
- ask one clear question that can be answered from a phone, with 1-5 short choices \
(default Yes / No); set allow_text only if the answer really is free text;
- do not ask what you can decide yourself, and do not ask the same thing twice (pass an \
idempotency_key if you might repeat the call);
- notify_ask returns at once with a ticket. Then call notify_wait(ticket, seconds) with \
seconds of at most 100 and call it again while its status is "waiting" (done is false): \
long tool calls are moved to the background or dropped by some clients, so wait in short \
slices. Stop when done is true: status "answered" carries the answer; "expired" or \
"cancelled" means no answer came: take the safe default or tell the user what you need;
- if the question no longer matters (the user answered in the terminal), call \
notify_cancel(ticket).
- notify_wait also works for a notify_send / notify_event ticket: it returns once every \
delivery is settled, with each channel's outcome, for when you must know it arrived.
"""
