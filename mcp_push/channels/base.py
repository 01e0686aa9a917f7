"""The shared half of every channel: settings, HTTP, timeouts, classification, redaction.

A channel module declares its id, its environment variables, its documented rate limit,
the request it makes and the rule that says which answer means success. Everything else
(sending, turning network trouble and HTTP statuses into retry-or-not, masking secrets,
writing the message in the channel's ``dialect`` and cutting it to a limit: ``render_body``,
``inline``, ``plain_text``, ``level``) lives here, so a provider file stays a request and a
success rule.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit, urlunsplit

from mcp_push.channels.errors import DeliveryError, PermanentError, RateLimitedError, TransientError
from mcp_push.channels.redact import Redactor, mask, mask_userinfo
from mcp_push.config import origin_variable

if TYPE_CHECKING:  # httpx loads when a request is made: listing channels and their settings needs none
    import httpx

TRUNCATION_MARKER = "\n…[truncated]"
MAX_INSTANCES = 9  # TG_BOT_TOKEN_2 … TG_BOT_TOKEN_9: telegram:2 … telegram:9


@dataclass(frozen=True)
class Setting:
    """One environment variable a channel reads.

    ``text`` marks free text that people read or name things with (a room name, an action's
    label, a display name, a body template): it must survive any Unicode, CJK and emoji alike.
    """

    name: str
    required: bool = False
    secret: bool = False
    example: str = ""
    text: bool = False


@dataclass(frozen=True)
class RateLimit:
    """A provider's documented limit: at most ``count`` messages every ``per`` seconds."""

    count: int
    per: float


@dataclass(frozen=True)
class AskPrompt:
    """The answer half of an ask message: one signed token per choice (for buttons), and the
    answer page's address when MCP_PUSH_PUBLIC_URL is set. Tokens carry no secret: they name
    the ask and the choice and are signed (``mcp_push.asking.tokens``)."""

    choices: tuple[str, ...]
    tokens: tuple[str, ...]
    allow_text: bool = False
    link: str | None = None


@dataclass(frozen=True)
class Message:
    """What a channel delivers. ``text`` is the title and content joined for title-less APIs.

    ``ask`` is set for a question the person answers: a channel with ``answers = True`` turns
    it into its own buttons; for every other channel the content already carries the link.
    """

    title: str
    content: str
    run_id: str = ""
    ticket: str = ""
    event: str | None = None
    ask: AskPrompt | None = None
    # How the content is written and what surrounds it (mcp_push.render): ``format`` "markdown" or
    # "text" (literal: every dialect escapes it fully); ``priority`` low|normal|high|urgent (None:
    # from the event, render.priority); ``url`` the one link the channel turns into its button;
    # ``source`` the "project · branch · host · agent · session" line (None: none).
    format: str = "markdown"
    priority: str | None = None
    url: str | None = None
    source: str | None = None

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.content}" if self.content else self.title


@dataclass(frozen=True)
class Receipt:
    """A provider's acknowledgement; ``provider_id`` is its message id when it gives one."""

    provider_id: str | None = None


@dataclass(frozen=True)
class HttpRequest:
    """A request a channel wants made; the base sends it."""

    method: str
    url: str
    json: Any = None
    data: Mapping[str, Any] | None = None
    content: bytes | str | None = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class HttpClients:
    """One pooled httpx client per proxy, shared by every channel of a process (thread-safe)."""

    def __init__(self, timeout: float):
        self._timeout = timeout
        self._clients: dict[str | None, httpx.Client] = {}
        self._lock = threading.Lock()

    @property
    def timeout(self) -> float:
        """``Settings.http_timeout``: also what a channel that does not speak HTTP (SMTP) waits for."""
        return self._timeout

    def get(self, proxy: str | None = None) -> httpx.Client:
        client = self._clients.get(proxy)  # made once per proxy: every later send skips the lock
        if client is not None:
            return client
        import httpx

        with self._lock:
            client = self._clients.get(proxy)
            if client is None:
                client = httpx.Client(
                    timeout=self._timeout,
                    proxy=proxy,
                    follow_redirects=False,
                    headers={"User-Agent": "mcp-push"},
                )
                self._clients[proxy] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def with_origin(url: str, origin: str | None) -> str:
    """Swap a URL's scheme, host and port for ``origin``'s, keeping origin's path as a prefix."""
    if not origin:
        return url
    target = urlsplit(url)
    relay = urlsplit(origin if "://" in origin else f"http://{origin}")
    path = relay.path.rstrip("/") + (target.path or "/")
    return urlunsplit((relay.scheme, relay.netloc, path, target.query, target.fragment))


def truncate(text: str, limit: int, *, unit: str = "chars") -> str:
    """Cut ``text`` to ``limit`` characters (or UTF-8 bytes) with a visible marker."""
    if unit == "bytes":
        encoded = text.encode("utf-8")
        if len(encoded) <= limit:
            return text
        room = limit - len(TRUNCATION_MARKER.encode("utf-8"))
        return encoded[:room].decode("utf-8", errors="ignore") + TRUNCATION_MARKER
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def short_hash(value: str) -> str:
    """A short, stable stand-in for a secret (rate-limit keys per robot must not store the token)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date), if present and sane."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # the email package only where a date must be read

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    date = response.headers.get("Date")
    now = parsedate_to_datetime(date) if date else None
    if now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def excerpt(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


class Channel(ABC):
    """A push service. Subclasses declare their metadata and implement ``send``.

    A class is instance 1 of its provider, configured by the plain variables. ``instance(n)``
    is account number ``n`` (``telegram:2``): the same class reading ``TG_BOT_TOKEN_2`` and the
    other ``_2`` forms instead, with no code of the channel's own (see ``NumberedEnv``).
    """

    id: ClassVar[str]
    name: ClassVar[str]
    settings: ClassVar[tuple[Setting, ...]] = ()
    rate_limit: ClassVar[RateLimit | None] = None
    answers: ClassVar[bool] = False  # renders Message.ask as buttons the person presses
    dialect: ClassVar[str] = "plain"  # how the provider reads text (mcp_push.render.DIALECTS)
    # Instances: ``base_id`` is the provider's id without a number ("telegram" for telegram:2),
    # ``number`` the account (1: the plain variables), ``max_number`` the highest one there may be.
    base_id: ClassVar[str]
    number: ClassVar[int] = 1
    max_number: ClassVar[int] = MAX_INSTANCES
    _provider: ClassVar[type[Channel] | None] = None  # instance 1, on the classes ``instance`` makes

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__ and "base_id" not in cls.__dict__:
            cls.base_id = cls.id.partition(":")[0]

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clients: HttpClients,
        origin: str | None = None,
        state: DeliveryState | None = None,
    ):
        self.env = env
        self._clients = clients
        self.origin = origin
        self.state: DeliveryState = MemoryState() if state is None else state

    @cached_property
    def redact(self) -> Redactor:
        """Masks this channel's secrets in a text; made on the first error, not for every delivery
        (a delivery that succeeds never needs it). A channel whose secrets change assigns a new one."""
        return Redactor(self.secret_values())

    # --- instances -----------------------------------------------------
    @classmethod
    def provider(cls) -> type[Channel]:
        """Instance 1: the class the registry lists for this provider."""
        return cls._provider or cls

    @classmethod
    def instance(cls, number: int) -> type[Channel]:
        """Account ``number`` of this provider (1: the class itself), made once per process."""
        base = cls.provider()
        if not 1 <= number <= base.max_number:
            raise ValueError(f"{base.base_id} has instances 1 to {base.max_number}, not {number}")
        if number == 1:
            return base
        with _INSTANCES_LOCK:
            made = _INSTANCES.get((base, number))
            if made is None:
                made = _INSTANCES[(base, number)] = base.make_instance(number)
        return made

    @classmethod
    def make_instance(cls, number: int) -> type[Channel]:
        """A new class for account ``number``; ``instance`` caches it. Channels whose accounts are not
        numbered variables (apprise: URLs of one list) override this and ``instances``."""
        return _numbered_instance(cls, number)

    @classmethod
    def instances(cls, env: Mapping[str, str]) -> list[type[Channel]]:
        """The instances ``env`` may configure: 1 always (as a listing shows it), 2 … 9 when any of
        their numbered variables is set."""
        base = cls.provider()
        found = [base]
        for number in range(2, base.max_number + 1):
            if any(env.get(numbered(s.name, number), "").strip() for s in base.settings):
                found.append(base.instance(number))
        return found

    @classmethod
    def variable(cls, name: str) -> str:
        """The variable this instance reads for the declared setting ``name`` (TG_BOT_TOKEN_2)."""
        return name

    @classmethod
    def variables(cls) -> list[str]:
        """Every variable the provider's accounts read (TG_BOT_TOKEN … TG_BOT_TOKEN_9), without making
        the instance classes (each one is a class and a regex: listing names must not build 217)."""
        base = cls.provider()
        names = [s.name for s in base.settings]
        return names + [numbered(name, n) for n in range(2, base.max_number + 1) for name in names]

    @classmethod
    def scope(cls, env: Mapping[str, str]) -> Mapping[str, str]:
        """``env`` as this instance reads it (instance 1: as it is)."""
        return env

    # --- configuration -------------------------------------------------
    @classmethod
    def missing(cls, env: Mapping[str, str]) -> list[str]:
        """Required variables that are not set (empty means the channel can send)."""
        return [s.name for s in cls.settings if s.required and not env.get(s.name, "").strip()]

    @classmethod
    def touched(cls, env: Mapping[str, str]) -> bool:
        """Whether any of the channel's variables is set (so a missing one is worth reporting)."""
        return any(env.get(s.name, "").strip() for s in cls.settings)

    @classmethod
    def enabled(cls, env: Mapping[str, str]) -> bool:
        return cls.touched(env) and not cls.missing(env)

    @classmethod
    def masked_settings(cls, env: Mapping[str, str]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for s in cls.settings:
            value = env.get(s.name, "").strip()
            if value:
                # A non-secret value may still carry a password (TG_PROXY_HOST=user:pass@host).
                shown[s.name] = mask(value) if s.secret else Redactor()(mask_userinfo(value)) or ""
        return shown

    def get(self, name: str, default: str = "") -> str:
        return self.env.get(name, "").strip() or default

    def secret_values(self) -> list[str]:
        return [self.env.get(s.name, "") for s in self.settings if s.secret]

    def rate_key(self) -> str:
        """Which bucket the rate limit counts in; per robot/chat where the provider counts so."""
        return self.id

    # --- rendering -----------------------------------------------------
    def level(self, message: Message) -> str:
        """The message's priority: its own, else MCP_PUSH_PRIORITY_<EVENT>, else the event's default."""
        from mcp_push.render.priority import resolve

        return resolve(message.priority, message.event, self.env)

    def render_body(
        self,
        message: Message,
        *,
        limit: int | None = None,
        unit: str = "chars",
        dialect: str | None = None,
        link: bool = True,
        source: bool = True,
    ) -> str:
        """The content in ``dialect`` (the channel's by default), cut to ``limit``; the URL (``link``:
        for a channel without a button of its own) and the source line follow it, never cut."""
        from mcp_push.render import fit as fit_to
        from mcp_push.render import link_line, render, source_line

        tail = []
        if link and message.url:
            tail.append(link_line(message.url))
        if source and message.source:
            tail.append(source_line(message.source))
        fmt = "text" if message.format == "text" else "markdown"  # validated upstream; never fail a send on it
        rendered = render(message.content, dialect or self.dialect, fmt, tail=tuple(tail))
        return fit_to(rendered, limit, unit)

    def inline(self, value: str, dialect: str | None = None) -> str:
        """One line of literal text (a title) escaped for ``dialect``."""
        from mcp_push.render import render

        return render(" ".join(value.split()), dialect or self.dialect, "text").text

    def plain_text(self, message: Message, *, limit: int | None = None, unit: str = "chars") -> str:
        """Title and content as clean plain text (Markdown removed), the URL and source below, within ``limit``."""
        from mcp_push.render import measure

        head = message.title
        room = None if limit is None else max(0, limit - measure(head + "\n\n", unit))
        body = self.render_body(message, limit=room, unit=unit, dialect="plain")
        return f"{head}\n\n{body}" if body else truncate(head, limit, unit=unit) if limit else head

    # --- sending -------------------------------------------------------
    @abstractmethod
    def send(self, message: Message) -> Receipt:
        """Deliver ``message`` or raise a DeliveryError subclass."""


class HttpChannel(Channel):
    """A channel that makes one HTTP request and reads the provider's answer."""

    def proxy(self) -> str | None:
        return None

    @abstractmethod
    def request(self, message: Message) -> HttpRequest:
        """The provider's documented request for ``message``."""

    def interpret(self, response: httpx.Response) -> Receipt:
        """The success rule. Default: any 2xx; channels whose body carries the verdict override."""
        raise_for_http(response)
        return Receipt()

    def send(self, message: Message) -> Receipt:
        return self.interpret(self.perform(self.request(message)))

    def perform(self, req: HttpRequest) -> httpx.Response:
        """Send ``req`` (through MCP_PUSH_ORIGIN_<ID> when set) and turn network trouble into errors."""
        import httpx

        client = self._clients.get(self.proxy())
        url = with_origin(req.url, self.origin)
        try:
            return client.request(
                req.method,
                url,
                json=req.json,
                data=req.data,
                content=req.content,
                params=req.params,
                headers=_wire_headers(req.headers),
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentError(
                f"{self.name}: the request URL cannot be used ({self.redact(str(exc))}); check the channel's "
                f"URL settings, and {origin_variable(self.id)} if it is set"
            ) from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.name} did not answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(
                f"could not reach {self.name}: {self.redact(str(exc)) or type(exc).__name__}"
            ) from None


def numbered(name: str, number: int) -> str:
    """The variable account ``number`` reads for the declared setting ``name`` (TG_BOT_TOKEN_2)."""
    return f"{name}_{number}"


class NumberedEnv(Mapping[str, str]):
    """The environment as account ``number`` of a channel reads it: each of the channel's declared
    ``names`` is read as ``NAME_<number>`` (an unset one is unset: nothing comes from instance 1);
    every other variable (MCP_PUSH_*, MCP_PUSH_HOME, …) passes through."""

    def __init__(self, env: Mapping[str, str], names: frozenset[str], number: int):
        self.raw = env
        self.names = names
        self.number = number

    def _key(self, name: str) -> str:
        return numbered(name, self.number) if name in self.names else name

    def __getitem__(self, name: str) -> str:
        return self.raw[self._key(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self.raw

    def __iter__(self) -> Iterator[str]:
        for name in self.raw:
            if name not in self.names:
                yield name
        for name in sorted(self.names):
            if numbered(name, self.number) in self.raw:
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)


_INSTANCES: dict[tuple[type[Channel], int], type[Channel]] = {}
_INSTANCES_LOCK = threading.Lock()


def _numbered_instance(base: type[Channel], number: int) -> type[Channel]:
    """Account ``number`` of ``base``: every way in (the configuration classmethods, the constructor)
    sees a ``NumberedEnv``; the names it reports (missing, shown settings, errors) carry the suffix."""
    names = frozenset(s.name for s in base.settings)
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9_])({alternatives})(?![A-Za-z0-9_])") if names else None

    def rename(text: str) -> str:
        return pattern.sub(lambda m: numbered(m.group(1), number), text) if pattern else text

    class Instance(base):  # type: ignore[valid-type,misc]
        id = f"{base.base_id}:{number}"
        base_id = base.base_id
        _provider = base

        @classmethod
        def variable(cls, name: str) -> str:
            return numbered(name, number) if name in names else name

        @classmethod
        def scope(cls, env: Mapping[str, str]) -> Mapping[str, str]:
            if isinstance(env, NumberedEnv) and env.names == names and env.number == number:
                return env  # already this instance's view (a classmethod calling another)
            return NumberedEnv(env, names, number)

        @classmethod
        def missing(cls, env: Mapping[str, str]) -> list[str]:
            return [rename(name) for name in super().missing(cls.scope(env))]

        @classmethod
        def touched(cls, env: Mapping[str, str]) -> bool:
            return super().touched(cls.scope(env))

        @classmethod
        def enabled(cls, env: Mapping[str, str]) -> bool:
            return super().enabled(cls.scope(env))

        @classmethod
        def masked_settings(cls, env: Mapping[str, str]) -> dict[str, str]:
            return {rename(key): value for key, value in super().masked_settings(cls.scope(env)).items()}

        def __init__(self, env: Mapping[str, str], **kwargs: Any):
            super().__init__(type(self).scope(env), **kwargs)

        def send(self, message: Message) -> Receipt:
            try:
                return super().send(message)
            except DeliveryError as exc:  # "check TG_BOT_TOKEN" means TG_BOT_TOKEN_2 here
                exc.reason = rename(exc.reason)
                exc.args = (exc.reason, *exc.args[1:])
                raise

    Instance.number = number
    Instance.__name__ = Instance.__qualname__ = f"{base.__name__}{number}"
    Instance.__module__ = base.__module__
    Instance.__doc__ = f"{base.name}, account {number}: the {base.base_id} settings with the suffix _{number}."
    return Instance


def _wire_headers(headers: Mapping[str, str]) -> dict[str, str | bytes]:
    """Headers as sent. HTTP header values are bytes: one a channel did not encode itself goes as UTF-8."""
    return {name: value if value.isascii() else value.encode("utf-8") for name, value in headers.items()}


def raise_for_http(response: httpx.Response, reason: str | None = None) -> None:
    """Classify by HTTP status alone: 2xx passes; 408/425/429/5xx are transient; other 4xx permanent.

    ``reason`` replaces the body excerpt when the channel has read a better one from the body.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {reason or excerpt(response)}"
    if status == 429:
        raise RateLimitedError(detail, code=status, retry_after=retry_after_header(response))
    if status in (408, 425) or status >= 500:
        raise TransientError(detail, code=status, retry_after=retry_after_header(response))
    raise PermanentError(detail, code=status)


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The provider's JSON answer; a non-JSON answer is classified by its HTTP status."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise_for_http(response)
        raise PermanentError(f"HTTP {response.status_code} with an unexpected body: {excerpt(response)}") from None
    if not isinstance(body, dict):
        raise_for_http(response)
        raise PermanentError(f"HTTP {response.status_code} with an unexpected body: {excerpt(response)}")
    return body


def code_error(
    response: httpx.Response,
    code: Any,
    message: str,
    *,
    permanent: Mapping[Any, str] | None = None,
    transient: Mapping[Any, float | None] | None = None,
    rate_limited: Mapping[Any, float | None] | None = None,
) -> DeliveryError:
    """The error for a provider's error code: permanent, rate-limited or transient.

    ``permanent`` maps documented permanent codes to what the user should check.
    ``transient`` and ``rate_limited`` give, per code, how long the provider wants us to
    wait (None: our own backoff). Any other code is permanent, unless the HTTP status
    itself says "try later" (429, 5xx): then the status decides.
    """
    reason = f"{message} (code {code})" if message else f"error code {code}"
    if permanent and code in permanent:
        return PermanentError(f"{reason}; {permanent[code]}", code=code)
    if rate_limited and code in rate_limited:
        return RateLimitedError(reason, code=code, retry_after=rate_limited[code])
    if transient and code in transient:
        return TransientError(reason, code=code, retry_after=transient[code])
    status = response.status_code
    if status == 429:
        return RateLimitedError(reason, code=code, retry_after=retry_after_header(response))
    if status in (408, 425) or status >= 500:
        return TransientError(reason, code=code, retry_after=retry_after_header(response))
    return PermanentError(reason, code=code)


class DeliveryState(Protocol):
    """What outlives one attempt: which targets of this delivery were served, and cached credentials.

    A worker passes one kept in the ledger, so a retry in another process sends only to the
    targets still owed and every process shares one access token. Cache keys are hashed by the
    channel: a key never holds a secret.
    """

    def done_targets(self) -> set[str]: ...

    def mark_done(self, target: str) -> None: ...

    def cached(self, key: str) -> str | None: ...

    def cache(self, key: str, value: str, ttl: float) -> None: ...


class MemoryState:
    """A DeliveryState in this process (a channel used without a ledger): targets per channel
    object, cached credentials shared by the process until they expire."""

    _values: ClassVar[dict[str, tuple[str, float]]] = {}  # key -> (value, time.time() expiry)
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._done: set[str] = set()

    def done_targets(self) -> set[str]:
        return set(self._done)

    def mark_done(self, target: str) -> None:
        self._done.add(target)

    def cached(self, key: str) -> str | None:
        with self._lock:
            found = self._values.get(key)
        return found[0] if found and found[1] > time.time() else None

    def cache(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._values[key] = (value, time.time() + ttl)

    @classmethod
    def forget(cls) -> None:
        """Drop every cached credential of this process (tests)."""
        with cls._lock:
            cls._values.clear()
