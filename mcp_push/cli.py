"""mcp-push command line: serve, worker, send, status, channels, ask, answer, cancel, setup.

Without a command it serves MCP on stdio, so the original mcp-push's registration lines
(`mcp-push`, `mcp-push --transport stdio`) keep working. Exit codes: 0 done (with --wait:
every delivery delivered; `ask`: answered); 1 a delivery failed or was still pending at the
deadline (`ask`: expired, cancelled or unanswered at the deadline; `answer`: too late);
2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from mcp_push import __version__
from mcp_push.config import EVENTS, Settings, load_settings
from mcp_push.errors import ConfigError, InputError, MCPPushError
from mcp_push.terminal import printable
from mcp_push.validation import FORMATS, PRIORITIES
from mcp_push.views import (
    ASK_ANSWERED,
    ASK_CANCELLED,
    ASK_WAITING,
    DELIVERED,
    FAILED,
    StatusDocument,
    as_json,
    channels_text,
    status_text,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_WAIT = 60.0
MAX_WAIT_SLICE = 100.0  # `ask` waits in the same slices as notify_wait
SERVE_OPTIONS = ("--transport", "--host", "--port", "--no-worker")  # they imply `serve`
VERBOSE = "log progress to stderr"


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only``, that command's parser alone (the usage still lists every
    command): each subparser costs a millisecond or so, and every agent turn runs `mcp-push hook`."""
    parser = argparse.ArgumentParser(
        prog="mcp-push",
        description="Durable notifications from AI agents.",
        epilog="Without a command, mcp-push runs `serve`: `mcp-push --transport stdio` is `mcp-push serve`.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-push {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE)
    # -v also after the command (`mcp-push serve -v`); SUPPRESS keeps a -v given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE)
    # With one command, the usage names them all as argparse would (it writes the choices it has).
    every = None if only is None else "{" + ",".join(COMMANDS) + "}"
    sub = parser.add_subparsers(dest="command", required=True, metavar=every, parser_class=_subparser(common))

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser | None:
        return sub.add_parser(name, **kwargs) if only in (None, name) else None

    if serve := command("serve", help="run the MCP server (stdio or streamable HTTP) with an embedded worker"):
        serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
        serve.add_argument("--host", default="127.0.0.1", help="with --transport http (default 127.0.0.1)")
        serve.add_argument("--port", type=int, default=8765, help="with --transport http (default 8765)")
        serve.add_argument("--no-worker", action="store_true", help="do not run the embedded worker")

    if worker := command("worker", help="deliver queued notifications (a long-running service)"):
        worker.add_argument(
            "--workers", type=int, default=None, help="delivery threads (default MCP_PUSH_WORKERS or 4)"
        )
        worker.add_argument("--drain", action="store_true", help="exit once nothing is left to deliver")
        worker.add_argument("--metrics-port", type=int, metavar="P", help="serve /metrics and /healthz on this port")
        worker.add_argument("--metrics-host", default="127.0.0.1", help="with --metrics-port (default 127.0.0.1)")

    if send := command("send", help="queue a notification and make sure it gets delivered"):
        send.add_argument("title", help="the headline; with --event it follows the event's word ('' keeps the run id)")
        send.add_argument("content", help="the message body; - reads it from stdin")
        send.add_argument("--run-id")
        send.add_argument("--event", choices=EVENTS, help="send as an agent event instead of a plain notification")
        send.add_argument("--data", help="a JSON object of details (with --event)")
        send.add_argument("--channel", action="append", dest="channels", help="channel id (repeatable)")
        send.add_argument("--idempotency-key")
        send.add_argument(
            "--format", choices=FORMATS, help="markdown (default: rendered per channel) or text (as written)"
        )
        send.add_argument("--priority", choices=PRIORITIES, help="how urgent (default: from the event)")
        send.add_argument(
            "--url", help="a link the channel shows as its button (default: data.artifact_url / data.url)"
        )
        send.add_argument("--source", help="where it came from (default: project · branch · host); '' for none")
        _wait_options(send)

    if ask := command("ask", help="ask the user a question on their phone and wait for the answer"):
        ask.add_argument("question")
        ask.add_argument(
            "--choice",
            action="append",
            dest="choices",
            metavar="LABEL",
            help="an answer button (repeatable, 1-5; default Yes and No)",
        )
        ask.add_argument("--text", action="store_true", help="the user may also answer in their own words")
        ask.add_argument("--timeout", type=float, metavar="SECONDS", help="until the question expires (default 600)")
        ask.add_argument(
            "--wait",
            type=float,
            metavar="SECONDS",
            help="wait at most this long (default: until it expires; 0: do not)",
        )
        ask.add_argument("--run-id")
        ask.add_argument("--channel", action="append", dest="channels", help="channel id (repeatable)")
        ask.add_argument("--idempotency-key")
        ask.add_argument("--json", action="store_true", help="print the outcome as JSON")

    if answer := command("answer", help="answer a waiting question from this terminal"):
        answer.add_argument("ticket")
        answer.add_argument("answer", help="a choice's label or number (1-5); with --text, the answer's words")
        answer.add_argument("--text", action="store_true", help="answer in your own words (if the question allows)")

    if cancel := command("cancel", help="withdraw a waiting question"):
        cancel.add_argument("ticket")
        cancel.add_argument("--json", action="store_true")

    if status := command("status", help="show what reached whom for a run id or ticket"):
        status.add_argument("ref", metavar="RUN_ID|TICKET")
        _wait_options(status)

    if test := command("test", help="send a test notification to each configured channel (or those named)"):
        test.add_argument("channel_ids", nargs="*", metavar="ID")
        test.add_argument("--wait", type=float, default=30.0, metavar="SECONDS", help="how long to wait (default 30)")

    if retry := command("retry", help="queue failed deliveries (dead letters) again"):
        retry.add_argument("ticket", nargs="?", help="retry this ticket's failed deliveries")
        retry.add_argument("--failed", action="store_true", help="retry every failed delivery (filtered below)")
        retry.add_argument("--channel", help="only this channel")
        retry.add_argument("--since", metavar="DURATION", help="only deliveries that failed within e.g. 30m, 2h, 7d")

    if purge := command("purge", help="delete settled notifications older than a duration"):
        purge.add_argument("--older-than", required=True, metavar="DURATION", help="e.g. 30d, 12h")

    if hook := command(
        "hook", help="turn an agent hook event (Claude Code on stdin, Codex as argument) into a notification"
    ):
        hook.add_argument("payload", nargs="?", help="Codex notify JSON (Claude Code sends its event on stdin)")

    if dashboard := command("dashboard", help="serve the read-only delivery dashboard"):
        dashboard.add_argument("--host", default="127.0.0.1")
        dashboard.add_argument("--port", type=int, default=8766)

    if channels := command("channels", help="list channels and their (masked) settings"):
        channels.add_argument("--json", action="store_true")

    if setup := command("setup", help="register mcp-push and its hooks with an agent, or --check what is installed"):
        setup.add_argument("agent", nargs="?", choices=["claude-code", "codex", "gemini"])
        setup.add_argument("--scope", choices=["user", "project"], default="user", help="your files or this project's")
        setup.add_argument("--dry-run", action="store_true", help="print the changes as a diff; write nothing")
        setup.add_argument("--uninstall", action="store_true", help="remove what setup added")
        setup.add_argument("--check", action="store_true", help="report what is installed where; send a test")
        setup.add_argument("--command", dest="exe", metavar="PATH", help="the mcp-push to register (default: this one)")
    return parser


def _subparser(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """Every subcommand's parser inherits ``common`` (its -v)."""

    class Sub(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, parents=[common], **kwargs)

    return Sub


def with_default_command(argv: Sequence[str]) -> list[str]:
    """``serve`` when no command is named: bare `mcp-push`, or serve's options given directly
    (`mcp-push --transport http --port 8765`), as the original mcp-push was registered."""
    args = list(argv)
    i = 0
    while i < len(args) and args[i] in ("-v", "--verbose"):
        i += 1
    rest = args[i:]
    if not rest or rest[0].split("=", 1)[0] in SERVE_OPTIONS:
        return [*args[:i], "serve", *rest]
    return args


def _wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        nargs="?",
        type=float,
        const=DEFAULT_WAIT,
        default=None,
        metavar="SECONDS",
        help=f"wait until every delivery is settled (default {DEFAULT_WAIT:g}s)",
    )
    p.add_argument("--json", action="store_true", help="print the status document as JSON")


def say(text: str, *, err: bool = False) -> None:
    """Print text for a person: titles, run ids and provider errors cannot drive the terminal."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


def _print_status(doc: StatusDocument, json_out: bool) -> None:
    if json_out:
        print(as_json(doc))  # JSON escapes control characters itself
    else:
        say(status_text(doc))


def _exit_for(doc: StatusDocument, waited: bool) -> int:
    statuses = [d.status for t in doc.tickets for d in t.deliveries]
    if any(s == FAILED for s in statuses):
        return EXIT_FAILED
    if waited and any(s != DELIVERED for s in statuses):
        return EXIT_FAILED
    return EXIT_OK


def _wait_for(notifier, ref: str, seconds: float, *, ticket: bool) -> StatusDocument:
    """Poll the ledger until every delivery is settled or the deadline passes."""
    deadline = time.monotonic() + seconds
    delay = 0.05
    while True:
        doc = notifier.status(ticket=ref) if ticket else notifier.lookup(ref)
        if doc.final or time.monotonic() >= deadline:
            return doc
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from mcp_push.shell_env import with_login_shell_env

    # Tokens exported in ~/.profile, for agents started by a desktop app. The login shell runs
    # while this thread imports the MCP SDK: the client waits for neither one after the other.
    found: list[Settings] = []
    reader = threading.Thread(target=lambda: found.append(with_login_shell_env(settings)), name="mcp-push-login-env")
    reader.start()
    from mcp_push.server import serve

    reader.join()
    settings = found[0] if found else settings  # the reader logs its own trouble and never raises
    _lean_queue_import()
    serve(settings, transport=args.transport, host=args.host, port=args.port, embedded_worker=not args.no_worker)
    return EXIT_OK


def _lean_queue_import() -> None:
    """This process consumes with fixed settings: Huey may skip the queue drivers it will not use."""
    import mcp_push.tasks.runtime

    mcp_push.tasks.runtime.LEAN_QUEUE_IMPORT = True


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.tasks.drain import run_worker

    _lean_queue_import()
    metrics = None if args.metrics_port is None else (args.metrics_host, args.metrics_port)
    return run_worker(settings, threads=args.workers, drain=args.drain, metrics=metrics)


def _cmd_send(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.drain import ensure_delivery
    from mcp_push.tasks.runtime import Runtime

    content = sys.stdin.read() if args.content == "-" else args.content
    rendering = {"format": args.format, "priority": args.priority, "url": args.url, "source": args.source}
    runtime = Runtime.open(settings)
    try:
        notifier = Notifier(runtime)
        if args.event:
            # TITLE is the headline after the event's word ("✅ Finished · TITLE"); '' keeps the run id there.
            receipt = (
                notifier.event(
                    args.run_id,
                    args.event,
                    content,
                    data=args.data,
                    channels=args.channels,
                    idempotency_key=args.idempotency_key,
                    title=args.title or None,
                    **rendering,
                )
                if args.run_id
                else _missing_run_id()
            )
        else:
            if args.data is not None:
                raise InputError("--data goes with --event (agent events carry data; plain notifications do not)")
            receipt = notifier.send(
                args.title,
                content,
                run_id=args.run_id,
                channels=args.channels,
                idempotency_key=args.idempotency_key,
                **rendering,
            )
        if receipt.channels:
            ensure_delivery(runtime)
        if args.wait is None:
            if args.json:
                print(as_json(notifier.status(ticket=receipt.ticket)))
            else:
                say(f"{receipt.ticket} {receipt.status} run={receipt.run_id} channels={','.join(receipt.channels)}")
                if receipt.reason:
                    say(f"not pushed: {receipt.reason}", err=True)
            return EXIT_OK
        doc = _wait_for(notifier, receipt.ticket, args.wait, ticket=True)
        _print_status(doc, args.json)
        return _exit_for(doc, waited=True)
    finally:
        runtime.close()


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Ask, then wait in the foreground; Ctrl-C withdraws the question. Prints the answer alone
    (``answer=$(mcp-push ask ...)``), or the outcome as JSON."""
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.drain import ensure_delivery
    from mcp_push.tasks.runtime import Runtime

    if args.wait is not None and not (0 <= args.wait <= 86_400):
        raise InputError(f"--wait {args.wait:g} is out of range: give 0 to 86400 seconds")
    runtime = Runtime.open(settings)
    try:
        notifier = Notifier(runtime)
        try:
            receipt = notifier.ask(
                args.question,
                choices=args.choices,
                allow_text=args.text,
                run_id=args.run_id,
                channels=args.channels,
                timeout_seconds=args.timeout,
                idempotency_key=args.idempotency_key,
            )
        except InputError as exc:  # the tool's argument names, as this command spells them
            raise InputError(str(exc).replace("timeout_seconds", "--timeout")) from None
        try:  # from the moment the question is out, Ctrl-C withdraws it (even while a drainer starts)
            if receipt.channels:
                ensure_delivery(runtime)
            if args.wait == 0:
                if args.json:
                    print(as_json(receipt))
                else:
                    say(f"{receipt.ticket} {receipt.status} run={receipt.run_id} channels={','.join(receipt.channels)}")
                return EXIT_OK
            doc = _wait_for_answer(notifier, receipt.ticket, args.wait)
        except KeyboardInterrupt:
            notifier.cancel(receipt.ticket)
            say(f"mcp-push: interrupted; the question {receipt.ticket} was withdrawn", err=True)
            return 130
    finally:
        runtime.close()
    if args.json:
        print(as_json(doc))
    elif doc.status == ASK_ANSWERED:
        say(doc.answer or "")
    if doc.status == ASK_ANSWERED:
        return EXIT_OK
    if not args.json:
        why = "no answer yet" if doc.status == ASK_WAITING else f"the question {doc.status} without an answer"
        say(f"mcp-push: {why} (ticket {doc.ticket})", err=True)
    return EXIT_FAILED


def _wait_for_answer(notifier, ticket: str, seconds: float | None):  # type: ignore[no-untyped-def]
    """notify_wait in slices until the ask ends, or ``seconds`` (None: until it expires) pass."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        left = MAX_WAIT_SLICE if deadline is None else min(MAX_WAIT_SLICE, max(0.0, deadline - time.monotonic()))
        doc = notifier.wait(ticket, left)
        if doc.done or (deadline is not None and time.monotonic() >= deadline):
            return doc


def _cmd_answer(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.asking.answers import ACCEPTED, INVALID, apply_answer, choice_index
    from mcp_push.tasks.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        ledger = runtime.ledger
        ask = ledger.get_ask(args.ticket)
        if ask is None:
            raise InputError(f"no question has ticket {args.ticket[:80]!r}: use the ticket `mcp-push ask` printed")
        choice, text = None, None
        if args.text:
            text = args.answer
        else:
            raw = args.answer.strip()
            choice = int(raw) - 1 if raw.isdigit() and 1 <= int(raw) <= len(ask.choices) else choice_index(ask, raw)
            if choice is None:
                listed = ", ".join(f"{i}. {c}" for i, c in enumerate(ask.choices, 1))
                extra = " (or --text for your own words)" if ask.allow_text else ""
                raise InputError(f"{raw[:64]!r} is not one of the choices: {listed}{extra}")
        result = apply_answer(ledger, ask.ticket, via="cli", by=_user(), now=time.time(), choice=choice, text=text)
    finally:
        runtime.close()
    if result.outcome == INVALID:
        raise InputError(result.message)
    say(result.message, err=result.outcome != ACCEPTED)
    return EXIT_OK if result.outcome == ACCEPTED else EXIT_FAILED


def _user() -> str | None:
    """Who answers from this terminal, for the record."""
    return os.environ.get("USER") or os.environ.get("USERNAME") or None


def _cmd_cancel(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        doc = Notifier(runtime).cancel(args.ticket)
    finally:
        runtime.close()
    if args.json:
        print(as_json(doc))
    elif doc.status == ASK_CANCELLED:
        say(f"{doc.ticket} cancelled")
    else:
        say(f"mcp-push: {doc.ticket} was already {doc.status}; nothing to cancel", err=True)
    return EXIT_OK if doc.status == ASK_CANCELLED else EXIT_FAILED


def _missing_run_id():
    raise InputError("--event needs --run-id (the task the event belongs to)")


def _cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        notifier = Notifier(runtime)
        if args.wait is None:
            doc = notifier.lookup(args.ref)
        else:
            doc = _wait_for(notifier, args.ref, args.wait, ticket=False)
        _print_status(doc, args.json)
        return _exit_for(doc, waited=args.wait is not None)
    finally:
        runtime.close()


def _cmd_channels(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        doc = Notifier(runtime).channels()
    finally:
        runtime.close()
    if args.json:
        print(as_json(doc))
    else:
        say(channels_text(doc))
        for c in doc.channels:
            for name, value in c.settings.items():
                say(f"    {name}={value}")
    return EXIT_OK


def _cmd_test(settings: Settings, args: argparse.Namespace) -> int:
    """Deliver one test notification per channel with an in-process worker; one line per channel."""
    import socket

    from mcp_push.channels import get_channel_class
    from mcp_push.notifier import Notifier
    from mcp_push.tasks.runtime import Runtime

    _lean_queue_import()
    runtime = Runtime.open(settings, queue=True)
    try:
        from mcp_push.tasks.worker import Worker  # after the queue: it decided how Huey is imported

        notifier = Notifier(runtime)
        # Nothing configured, or an unknown or unconfigured channel: InputError (exit 2, what to set).
        receipt = notifier.send(
            "mcp-push test",
            f"If you can read this, mcp-push reaches you here. Sent from {socket.gethostname()}.",
            channels=args.channel_ids or None,
        )
        worker = Worker(runtime)
        worker.start()
        try:
            doc = _wait_for(notifier, receipt.ticket, args.wait, ticket=True)
        finally:
            worker.stop()
    finally:
        runtime.close()
    ok = True
    for d in doc.tickets[0].deliveries:
        if d.status == DELIVERED:
            say(f"{d.channel}: delivered")
            continue
        ok = False
        cls = get_channel_class(d.channel)
        check = ", ".join(cls.variable(s.name) for s in cls.settings if s.required) if cls else ""
        state = "failed" if d.status == FAILED else f"not delivered yet ({d.status})"
        say(f"{d.channel}: {state}: {d.last_error or 'no answer yet'}" + (f" — check {check}" if check else ""))
    return EXIT_OK if ok else EXIT_FAILED


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', '7d' (or plain seconds) as seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    raw = text.strip().lower()
    try:
        if raw and raw[-1] in units:
            value = float(raw[:-1]) * units[raw[-1]]
        else:
            value = float(raw)
    except ValueError:
        raise InputError(f"{text!r} is not a duration: use e.g. 90s, 30m, 2h or 7d") from None
    if value <= 0:
        raise InputError(f"{text!r} must be a positive duration")
    return value


def _cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.tasks.drain import ensure_delivery
    from mcp_push.tasks.runtime import Runtime

    if bool(args.ticket) == bool(args.failed):
        raise InputError("give a TICKET, or --failed (optionally with --channel and --since)")
    since = time.time() - parse_duration(args.since) if args.since else None
    runtime = Runtime.open(settings)
    try:
        if args.ticket and runtime.ledger.get_ticket(args.ticket) is None:
            raise InputError(f"no ticket {args.ticket!r}")
        ids = runtime.ledger.requeue_failed(time.time(), ticket=args.ticket, channel=args.channel, failed_since=since)
        runtime.dispatch(ids)
        if ids:
            ensure_delivery(runtime)
    finally:
        runtime.close()
    print(f"queued {len(ids)} failed deliver{'y' if len(ids) == 1 else 'ies'} again")
    return EXIT_OK


def _cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.tasks.runtime import Runtime

    cutoff = time.time() - parse_duration(args.older_than)
    runtime = Runtime.open(settings)
    try:
        count = runtime.ledger.purge(cutoff)
    finally:
        runtime.close()
    print(f"purged {count} settled notification{'s' if count != 1 else ''}")
    return EXIT_OK


def _cmd_hook(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.hooks import run_hook

    return run_hook(settings, args.payload, sys.stdin)


def _cmd_setup(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.setup import run

    return run(
        args.agent,
        scope=args.scope,
        dry_run=args.dry_run,
        uninstall=args.uninstall,
        check=args.check,
        command=args.exe,
        settings=settings,
    )


def _cmd_dashboard(settings: Settings, args: argparse.Namespace) -> int:
    from mcp_push.dashboard import serve_dashboard

    serve_dashboard(settings, host=args.host, port=args.port)
    return EXIT_OK


# In the order `mcp-push --help` lists them (the order _parser declares them; a test checks it).
COMMANDS = {
    "serve": _cmd_serve,
    "worker": _cmd_worker,
    "send": _cmd_send,
    "ask": _cmd_ask,
    "answer": _cmd_answer,
    "cancel": _cmd_cancel,
    "status": _cmd_status,
    "test": _cmd_test,
    "retry": _cmd_retry,
    "purge": _cmd_purge,
    "hook": _cmd_hook,
    "dashboard": _cmd_dashboard,
    "channels": _cmd_channels,
    "setup": _cmd_setup,
}


# The commands that write or deliver notifications refuse to start with a bad attention rule
# (MCP_PUSH_ROUTE_*, MCP_PUSH_QUIET, ...); the others (status, channels, setup) still run.
RULED_COMMANDS = ("serve", "worker", "send", "ask", "hook")


# Libraries whose lines below WARNING name full URLs, credentials included: httpx and httpcore log
# every request URL at INFO (Telegram's token is in its path), Apprise and urllib3 at DEBUG.
URL_LOGGERS = ("httpx", "httpcore", "apprise", "urllib3")


def setup_logging(level: str) -> None:
    """Log to stderr at ``level``; the URL loggers stay at WARNING whatever -v or MCP_PUSH_LOG says."""
    logging.basicConfig(
        stream=sys.stderr,
        level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def named_command(args: Sequence[str]) -> str | None:
    """The command ``args`` (as with_default_command returns them) run, if the parser of that
    command alone parses them as the whole command line would: not for --help or --version."""
    words = [a for a in args if a not in ("-v", "--verbose")]
    if not words or words[0] not in COMMANDS or any(a in ("-h", "--help", "--version") for a in args):
        return None
    return words[0]


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    effective = with_default_command(given)
    args = _parser(only=named_command(effective)).parse_args(effective)
    if effective != given and args.transport == "stdio" and sys.stdin.isatty():
        print("mcp-push: serving MCP on stdio for an agent (`mcp-push --help` lists commands)", file=sys.stderr)
    setup_logging("INFO" if args.verbose else os.environ.get("MCP_PUSH_LOG", "WARNING").upper())
    try:
        settings = load_settings()
        if args.command in RULED_COMMANDS:
            from mcp_push.attention.rules import rules_for

            rules_for(settings)  # a bad attention rule: one line naming it, before anything starts
        return COMMANDS[args.command](settings, args)
    except (InputError, ConfigError) as exc:
        say(f"mcp-push: {exc}", err=True)
        # Agents read exit code 2 from some hooks as "block" or "keep working" (Claude Code's Stop hook):
        # a broken configuration must never do that, so a hook reports it as a plain failure.
        return EXIT_FAILED if args.command == "hook" else EXIT_USAGE
    except MCPPushError as exc:
        say(f"mcp-push: {exc}", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
