"""Answer tokens: short, URL-safe, bound to one ask and one choice, and only this home's key signs them."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mcp_push.asking.tokens import ANY_CHOICE, MAX_TOKEN, TEXT_CHOICE, AnswerKey, TokenClaim, TokenError
from mcp_push.errors import ConfigError

TICKET = "tk-0193ab45cd67e1f2a3b4c5"


def test_a_token_round_trips_and_fits_telegram_callback_data(tmp_path: Path) -> None:
    key = AnswerKey.load(tmp_path)
    for choice in ("0", "4", TEXT_CHOICE, ANY_CHOICE):
        token = key.sign(TICKET, choice)
        assert len(token.encode()) <= MAX_TOKEN
        assert all(c.isalnum() or c in "-_." for c in token)  # URL-safe, nothing to escape
        assert key.verify(token) == TokenClaim(TICKET, choice)
    assert key.verify(key.sign(TICKET, "3")).index == 3
    assert key.verify(key.sign(TICKET, ANY_CHOICE)).index is None


def test_the_longest_ticket_still_fits_64_bytes(tmp_path: Path) -> None:
    key = AnswerKey.load(tmp_path)
    token = key.sign("t" * 39, "0")
    assert len(token) == 64
    with pytest.raises(ValueError):
        key.sign("t" * 40, "0")
    with pytest.raises(ValueError):
        key.sign(TICKET, "5")  # at most five choices


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace(".0.", ".1."),  # another choice with the same signature
        lambda t: t.replace(TICKET, TICKET[:-1] + "6"),  # another ask
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a flipped signature character
        lambda t: t[:-2],  # truncated
        lambda t: t + "x",  # too long a signature
        lambda t: t.replace(".", "-"),  # no separators
        lambda t: "",
        lambda t: "a" * 65,
        lambda t: t.replace("tk", "ťk"),  # not ASCII
    ],
)
def test_a_tampered_token_is_rejected(tmp_path: Path, mutate) -> None:
    key = AnswerKey.load(tmp_path)
    with pytest.raises(TokenError):
        key.verify(mutate(key.sign(TICKET, "0")))


def test_another_homes_token_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    ours, theirs = AnswerKey.load(tmp_path / "a"), AnswerKey.load(tmp_path / "b")
    with pytest.raises(TokenError, match="not signed by this mcp-push"):
        ours.verify(theirs.sign(TICKET, "0"))


def test_the_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(ConfigError, match="does not exist"):  # a home is never created here (prepare_home does)
        AnswerKey.load(home)
    home.mkdir()
    first = AnswerKey.load(home)
    path = home / "answer.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size == 32
    token = first.sign(TICKET, "1")
    assert AnswerKey.load(home).verify(token) == TokenClaim(TICKET, "1")  # the same key after a restart
    assert sorted(p.name for p in home.iterdir()) == ["answer.key"]  # no temporary file left behind
    assert repr(first) == "AnswerKey(…)"  # the key never reaches a log


def test_a_loose_key_file_is_tightened(tmp_path: Path) -> None:
    AnswerKey.load(tmp_path)
    path = tmp_path / "answer.key"
    path.chmod(0o644)
    AnswerKey.load(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_processes_racing_to_create_the_key_share_one(tmp_path: Path) -> None:
    keys: list[AnswerKey] = []
    barrier = threading.Barrier(8)

    def load() -> None:
        barrier.wait()
        keys.append(AnswerKey.load(tmp_path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    token = keys[0].sign(TICKET, "0")
    assert len(keys) == 8 and all(k.verify(token) for k in keys)


def test_a_symlinked_key_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "victim"
    home.mkdir()
    elsewhere.write_bytes(b"x" * 32)
    elsewhere.chmod(0o644)
    (home / "answer.key").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="symbolic link"):
        AnswerKey.load(home)
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
    dangling = tmp_path / "home2"
    dangling.mkdir()
    (dangling / "answer.key").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        AnswerKey.load(dangling)
    assert not (tmp_path / "nowhere").exists()  # never created through the link


def test_a_damaged_key_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "answer.key").write_bytes(b"short")
    os.chmod(tmp_path / "answer.key", 0o600)
    with pytest.raises(ConfigError, match=r"damaged.*remove it"):
        AnswerKey.load(tmp_path)


def test_derived_values_are_stable_and_per_purpose(tmp_path: Path) -> None:
    key = AnswerKey.load(tmp_path)
    topic = key.derive("ntfy-reply:alerts")
    assert topic == AnswerKey.load(tmp_path).derive("ntfy-reply:alerts") and len(topic) == 20
    assert topic != key.derive("ntfy-reply:other")
    (tmp_path / "other").mkdir()
    assert AnswerKey.load(tmp_path / "other").derive("ntfy-reply:alerts") != topic
