"""The mcp-push-guidelines prompt: when an agent should notify a person, and when not."""

GUIDELINES = """\
You can notify the user through mcp-push. Their attention is precious: notify only when it \
helps them.

Notify (notify_event with event "end" or "error", or notify_send):
- a long task finished (more than a few minutes, or the user stepped away): say what was \
done and the outcome, success or failure, in one or two sentences;
- a task failed or is blocked and cannot continue without them;
- you need the user to decide or approve something before you can go on: say exactly what \
you need.

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
"""
