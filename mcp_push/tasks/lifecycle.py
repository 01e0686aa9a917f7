"""How mcp-push processes stop and start: stop signals, bounded clean-up, waiting for backends.

Every long-running process (``serve``, ``worker``, the drainer) stops the same way: a stop
request (SIGTERM, SIGINT, or the MCP client closing stdin) halts its worker, sends already
on the wire get a grace period to finish, what is left is handed back to the queue at once,
and every step that talks to a server is bounded in time, so a database that stopped
answering cannot keep the process alive. A ``worker`` started before its PostgreSQL or
Redis waits for it instead of exiting, so boot order does not matter.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from mcp_push.config import Settings
from mcp_push.errors import ConfigError

if TYPE_CHECKING:
    from mcp_push.tasks.runtime import Runtime

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVE_GRACE_MAX = 5.0  # serve must be gone within 10 s of SIGTERM (with the HTTP transport's own 3 s first)
DRAIN_GRACE_MAX = 2.0  # a drain worker must be gone within 5 s
HANDBACK_SECONDS = 1.0  # releasing claims and re-enqueueing them; a ledger that hangs is left to the lease
CLOSE_SECONDS = 0.5  # closing connection pools
WAIT_MAX = 60.0  # longest pause between two tries to reach a backend at start


def stop_grace(settings: Settings, ceiling: float | None = None) -> float:
    """MCP_PUSH_STOP_GRACE (``settings.stop_grace``), at most ``ceiling`` where a process has a hard bound."""
    return settings.stop_grace if ceiling is None else min(settings.stop_grace, ceiling)


class StopSignals:
    """SIGTERM/SIGINT as a counter the main thread polls.

    The handler only increments an int: it may run while the main thread holds any lock, so
    it must not take one (setting a threading.Event there can deadlock). The first signal
    asks for a stop; a further one asks to stop waiting for sends in progress.
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, object] = {}

    def install(self) -> StopSignals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    @property
    def received(self) -> bool:
        return self.count > 0

    def since(self, seen: int) -> Callable[[], bool]:
        """A probe: has another signal arrived since the count was ``seen``?"""
        return lambda: self.count > seen

    def wait(self, seconds: float, done: Callable[[], bool] | None = None) -> bool:
        """Sleep up to ``seconds``, returning True early when a signal arrives (or ``done()``)."""
        deadline = time.monotonic() + seconds
        while not self.received and not (done is not None and done()):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.1))
        return True


_PENDING = object()


def bounded(call: Callable[[], T], seconds: float, what: str) -> tuple[bool, T | None]:
    """Run ``call`` in a daemon thread for at most ``seconds``: (finished, its result).

    For steps that talk to a server while the process stops: if the server hangs, the
    process still exits (the thread is abandoned with it). An exception is logged in one line, not raised.
    """
    box: list[object] = [_PENDING]

    def target() -> None:
        try:
            box[0] = call()
        except Exception as exc:  # a stop goes on regardless: one line, the traceback only at debug level
            log.warning("%s failed (%s: %s)", what, type(exc).__name__, " ".join(str(exc).split()))
            log.debug("%s failed", what, exc_info=True)
            box[0] = None

    thread = threading.Thread(target=target, name=f"mcp-push-{what.split()[0]}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        log.warning("gave up on %s after %gs (a server did not answer)", what, seconds)
        return False, None
    return True, box[0]  # type: ignore[return-value]


# --- waiting for backends at start ------------------------------------------------

_PG_SERVER_BUSY = ("starting up", "shutting down", "in recovery", "too many", "connection slots")


def _outage(exc: BaseException) -> str | None:
    """Why a driver error means "the server is not there (yet)", or None for a real misconfiguration.

    Connection refused, a timeout, a name that does not resolve yet and a server still
    starting are outages; a wrong password, an unknown database or role are not.
    """
    try:
        import psycopg
    except ImportError:
        psycopg = None  # type: ignore[assignment]
    try:
        import redis
    except ImportError:
        redis = None  # type: ignore[assignment]
    text = " ".join(str(exc).split())
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        answered = "FATAL:" in text  # the server itself refused the login: a setting to fix, not to wait for
        if answered and not any(phrase in text for phrase in _PG_SERVER_BUSY):
            return None
        return text or type(exc).__name__
    if redis is not None and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        if isinstance(exc, redis.AuthenticationError):
            return None
        return text or type(exc).__name__
    return None


def outage_reason(error: ConfigError) -> str | None:
    """The outage behind a ConfigError from Runtime.open, or None if it is a real configuration error.

    Runtime.open reports an unreachable server as one ConfigError raised while handling the
    driver's error, which stays attached as ``__context__``.
    """
    cause = error.__cause__ or error.__context__
    return None if cause is None else _outage(cause)


def _open_in_background(settings: Settings) -> dict[str, object]:
    """Start Runtime.open in a daemon thread; the returned dict gets "runtime" or "error", then "done"."""
    from mcp_push.tasks.runtime import Runtime

    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["runtime"] = Runtime.open(settings, queue=True)
        except BaseException as exc:  # handed to the main thread, which decides
            box["error"] = exc
        finally:
            box["done"] = True

    threading.Thread(target=target, name="mcp-push-open", daemon=True).start()
    return box


def _sleep_unless(seconds: float, stop_requested: Callable[[], bool]) -> bool:
    """Sleep ``seconds``; True as soon as a stop is requested."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if stop_requested():
            return True
        time.sleep(0.05)
    return stop_requested()


def open_when_ready(settings: Settings, stop_requested: Callable[[], bool]) -> Runtime | None:
    """Runtime.open with its queue, waiting while PostgreSQL or Redis cannot be reached (backoff 1 s .. 60 s).

    One warning line when the wait begins. Returns None as soon as a stop is requested (an
    attempt in progress, e.g. a connect to a silent host, is abandoned); a configuration
    error is raised at once.
    """
    delay, announced = 1.0, False
    while True:
        attempt = _open_in_background(settings)
        while "done" not in attempt:
            if _sleep_unless(0.05, stop_requested):
                return None
        if "runtime" in attempt:
            if announced:
                log.info("the backends are reachable now; starting")
            return attempt["runtime"]  # type: ignore[return-value]
        error = attempt["error"]
        reason = outage_reason(error) if isinstance(error, ConfigError) else None
        if reason is None:
            raise error  # type: ignore[misc]
        if not announced:
            log.warning("%s; waiting for it (retrying with a backoff up to %gs, SIGTERM stops)", error, WAIT_MAX)
            announced = True
        else:
            log.debug("still waiting: %s", reason)
        if _sleep_unless(delay, stop_requested):
            return None
        delay = min(delay * 2, WAIT_MAX)
