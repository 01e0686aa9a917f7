"""Signed answer tokens: what a button's callback data, an ntfy action or an answer link carries.

A token names an ask (its ticket) and a choice and is signed with HMAC-SHA256 under a key kept
in MCP_PUSH_HOME (``answer.key``, 0600, created on first use). It holds no secret: knowing it
lets one answer that ask with that choice while the ask waits, nothing else. At most 64 bytes
(Telegram's callback_data limit), URL-safe. Verification is constant-time.

Format: ``<ticket>.<choice>.<signature>``, the signature being the first 16 bytes of
HMAC-SHA256(key, "answer" 0x1f ticket 0x1f choice) in unpadded base64url (22 characters); a
ticket of today (``tk-`` and 20 hex digits) makes a 48-byte token. Single use and expiry are
the ask's: the ledger takes one answer while the ask waits, so a replayed token finds it
answered and a late one finds it ended.

Choice: ``0``-``4`` a choice's index, ``t`` free text, ``a`` any (the answer page's link).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from mcp_push.errors import ConfigError

ANY_CHOICE = "a"
TEXT_CHOICE = "t"
MAX_TOKEN = 64
MAX_CHOICES = 5
CHOICES = frozenset({*(str(i) for i in range(MAX_CHOICES)), TEXT_CHOICE, ANY_CHOICE})
KEY_FILE = "answer.key"
KEY_BYTES = 32
SIGNATURE_BYTES = 16

_TICKET = re.compile(r"[A-Za-z0-9_-]{1,39}")  # what a ticket may be for its token to fit 64 bytes
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{22}")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class TokenError(ValueError):
    """A token that is malformed or not signed by this home's key (forged, or another home's)."""


@dataclass(frozen=True)
class TokenClaim:
    ticket: str
    choice: str  # "0".."4", "t" or "a"

    @property
    def index(self) -> int | None:
        """The choice's index for a per-choice token; None for ``t`` and ``a``."""
        return int(self.choice) if self.choice.isdigit() else None


class AnswerKey:
    """The HMAC key of one MCP_PUSH_HOME."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("an answer key has at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return "AnswerKey(…)"

    @classmethod
    def load(cls, home: Path) -> AnswerKey:
        """Read ``home/answer.key``, creating it (32 random bytes, 0600, never through a symlink).
        The home itself must exist (``prepare_home`` makes it)."""
        path = Path(home) / KEY_FILE
        if not Path(home).is_dir():  # never created here: a home that vanished must stay gone (workers stop)
            raise ConfigError(f"MCP_PUSH_HOME {home} does not exist; the answer key lives there")
        try:
            for _ in range(3):
                key = _read_key(path)
                if key is not None:
                    return cls(key)
                _create_key(path)
        except OSError as exc:
            raise ConfigError(
                f"the answer key {path} cannot be read or created ({exc.strerror or exc}); "
                "make MCP_PUSH_HOME writable by this user"
            ) from None
        raise ConfigError(f"the answer key {path} keeps disappearing; check what removes files in MCP_PUSH_HOME")

    # --- tokens ------------------------------------------------------------------------
    def _signature(self, ticket: str, choice: str) -> str:
        mac = hmac.new(self._key, b"\x1f".join((b"answer", ticket.encode(), choice.encode())), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:SIGNATURE_BYTES]).rstrip(b"=").decode("ascii")

    def sign(self, ticket: str, choice: str) -> str:
        """The token that answers ``ticket`` with ``choice`` ("0"-"4", "t" or "a")."""
        if not _TICKET.fullmatch(ticket):
            raise ValueError(f"a ticket of at most 39 URL-safe characters is signed, not {ticket[:40]!r}")
        if choice not in CHOICES:
            raise ValueError(f"a token's choice is 0-4, t or a, not {choice!r}")
        return f"{ticket}.{choice}.{self._signature(ticket, choice)}"

    def verify(self, token: str) -> TokenClaim:
        """The claim of a token signed by this key; TokenError otherwise."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN or not token.isascii():
            raise TokenError("not an answer token")
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("not an answer token")
        ticket, choice, signature = parts
        if not _TICKET.fullmatch(ticket) or choice not in CHOICES or not _SIGNATURE.fullmatch(signature):
            raise TokenError("not an answer token")
        if not hmac.compare_digest(signature.encode("ascii"), self._signature(ticket, choice).encode("ascii")):
            raise TokenError("the token is not signed by this mcp-push (forged, or from another MCP_PUSH_HOME)")
        return TokenClaim(ticket, choice)

    def derive(self, purpose: str, length: int = 20) -> str:
        """A value derived from the key for ``purpose`` (hex, ``length`` digits): e.g. an unguessable
        ntfy reply topic. Separate from the token signatures, so it reveals nothing about them."""
        mac = hmac.new(self._key, b"derive\x1f" + purpose.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()[:length]


def _read_key(path: Path) -> bytes | None:
    """The key in ``path`` (None: no such file), never through a link; tightened to 0600 if looser."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise ConfigError(
                f"{path} is a symbolic link; mcp-push never follows links inside MCP_PUSH_HOME. Remove the link"
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path} is not a regular file; move it aside (a new key is created)")
        if stat.S_IMODE(info.st_mode) & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise ConfigError(
            f"the answer key {path} is damaged ({len(data)} bytes, not {KEY_BYTES}); remove it and a new one "
            "is created (buttons and links already sent then stop working)"
        )
    return data


def _create_key(path: Path) -> None:
    """Write a new key whole, then link it into place: racing processes all end up reading one key."""
    temp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    try:
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)  # fails if a key (or a link planted there) already exists
        except FileExistsError:
            pass
        except OSError as exc:  # a file system without hard links: create it in place, exclusively
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            _create_in_place(path)
    finally:
        temp.unlink(missing_ok=True)


def _create_in_place(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
