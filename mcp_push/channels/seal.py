"""Sealing a cached credential with a key only its owner has, for a cache other processes share.

A channel that caches an access token in the ledger stores it sealed with a key derived
from its own secret (e.g. WeCom's corpsecret): whoever can read the ledger but not the
channel's environment learns nothing usable. HMAC-SHA256 in counter mode encrypts; a
second HMAC authenticates (encrypt-then-MAC), so a value sealed with another secret, or
altered, reads as absent. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_NONCE = _TAG = 16


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _keys(secret: str) -> tuple[bytes, bytes]:
    """(encryption key, MAC key), both derived from ``secret``."""
    root = _mac(secret.encode("utf-8"), b"mcp-push sealed cache")
    return _mac(root, b"encrypt"), _mac(root, b"authenticate")


def _xor(key: bytes, nonce: bytes, data: bytes) -> bytes:
    stream = b"".join(_mac(key, nonce + i.to_bytes(4, "big")) for i in range(len(data) // 32 + 1))
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def seal(secret: str, value: str) -> str:
    """``value`` encrypted and authenticated with a key derived from ``secret``, as text."""
    enc, auth = _keys(secret)
    nonce = os.urandom(_NONCE)
    body = _xor(enc, nonce, value.encode("utf-8"))
    return base64.urlsafe_b64encode(nonce + _mac(auth, nonce + body)[:_TAG] + body).decode("ascii")


def unseal(secret: str, sealed: str) -> str | None:
    """What ``seal`` sealed, or None if it was sealed with another secret, altered or not sealed at all."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    nonce, tag, body = raw[:_NONCE], raw[_NONCE : _NONCE + _TAG], raw[_NONCE + _TAG :]
    enc, auth = _keys(secret)
    if len(tag) < _TAG or not hmac.compare_digest(tag, _mac(auth, nonce + body)[:_TAG]):
        return None
    return _xor(enc, nonce, body).decode("utf-8", errors="replace")
