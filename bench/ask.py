"""Ask -> decision latency: a blocking `mcp-push hook` until it prints the agent's decision.

Each ask is a fresh `mcp-push hook` process fed a Codex PermissionRequest payload (the
shape of every permission hook), with a live `mcp-push worker` as `serve` would run it (its
listener polls for answers while asks wait). A fake phone presses "Allow" the moment the
message reaches the fake provider: Telegram's inline button (a callback query the listener
reads by getUpdates long polling) and ntfy's http action (a POST to the reply topic, read by
polling). Three figures per channel: the whole ask (process start to decision on stdout), the
part before the phone sees the message (write, hand-over, delivery), and the part after the
press (listener, ledger, the hook's poll). The target: p50 of the whole ask at most 1.5 s.
Asks start ``--gap`` seconds apart (default 1): Telegram paces messages to about one a second
per chat (the channel's rate limit, which the edit closing the previous ask also takes), so
back-to-back asks would measure that pacing, not the path.

    python bench/ask.py [--n 20] [--channel telegram|ntfy|both] [--gap 1.0]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from typing import Any

from _common import ROOT, base_env, live_worker, percentile

from tests.fakes.ntfy import CASE as NTFY
from tests.fakes.ntfy import FakeNtfy
from tests.fakes.telegram import CASE as TELEGRAM
from tests.fakes.telegram import FakeTelegram

PAYLOAD = (ROOT / "tests" / "hook_payloads" / "codex_permission_request.json").read_text(encoding="utf-8")
HOOK = [sys.executable, "-m", "mcp_push", "hook"]
TARGET_P50 = 1.5  # seconds, ask to decision
DECISION = '"behavior": "allow"'


class Phone:
    """Presses Allow on each new message as soon as it arrives; notes when it saw it."""

    def __init__(self, channel: str, fake: Any):
        self.channel = channel
        self.fake = fake
        self.seen: list[float] = []
        self.pressed: set[str] = set()

    def answer(self, number: int) -> None:
        if self.channel == "telegram":
            message = self.fake.wait_message(number, timeout=30)
            self.seen.append(time.perf_counter())
            self.fake.press(message, "Allow")
            return
        found = self._new_ntfy_question()
        self.seen.append(time.perf_counter())
        status = self.fake.press(found, "Allow")
        if status != 200:
            raise SystemExit(f"the ntfy reply topic answered {status}")

    def _new_ntfy_question(self, timeout: float = 30) -> str:
        """The id of the next notification with buttons (the topic also carries the updates that close
        answered asks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.fake.notifications():
                if message.get("actions") and message["id"] not in self.pressed:
                    self.pressed.add(message["id"])
                    return message["id"]
            time.sleep(0.002)
        raise SystemExit("no question reached the fake ntfy")


def one_ask(env: dict[str, str], phone: Phone, number: int) -> tuple[float, float, float]:
    """(whole, until the phone saw it, after the press) in seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        HOOK, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    presser = threading.Thread(target=phone.answer, args=(number,), daemon=True)
    presser.start()
    out, err = proc.communicate(PAYLOAD, timeout=60)
    ended = time.perf_counter()
    presser.join(timeout=30)
    if proc.returncode != 0 or DECISION not in out:
        raise SystemExit(f"ask {number} gave no decision (exit {proc.returncode}): {out!r} {err.strip()!r}")
    seen = phone.seen[-1]
    return ended - started, seen - started, ended - seen


def bench(channel: str, n: int, gap: float) -> list[float]:
    fake = FakeTelegram().start() if channel == "telegram" else FakeNtfy().start()
    case = TELEGRAM if channel == "telegram" else NTFY
    env = base_env({**case.env(fake.url), "MCP_PUSH_ASK_TIMEOUT": "30"})
    worker = live_worker(env)
    phone = Phone(channel, fake)
    try:
        one_ask(env, phone, 1)  # warm-up: the ledger and the listener's first poll
        results = []
        for i in range(n):
            time.sleep(gap)
            results.append(one_ask(env, phone, i + 2))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        fake.stop()
    if fake.problems:
        raise SystemExit(f"the fake {channel} saw bad requests: {fake.problems}")
    whole = [r[0] for r in results]
    for label, values in (
        ("ask -> decision", whole),
        ("  ask -> message on the phone", [r[1] for r in results]),
        ("  press -> decision", [r[2] for r in results]),
    ):
        print(
            f"  {channel:<9}{label:<32} p50 {percentile(values, 50) * 1000:7.0f} ms  "
            f"p95 {percentile(values, 95) * 1000:7.0f} ms  (n={len(values)})"
        )
    return whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="asks per channel (default 20)")
    parser.add_argument("--channel", choices=["telegram", "ntfy", "both"], default="both")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between asks (default 1)")
    args = parser.parse_args()
    channels = ["telegram", "ntfy"] if args.channel == "both" else [args.channel]
    print(f"blocking hook, live worker, a phone that answers at once; {args.n} asks per channel, {args.gap:g} s apart")
    met = True
    for channel in channels:
        p50 = percentile(bench(channel, args.n, args.gap), 50)
        ok = p50 <= TARGET_P50
        met = met and ok
        print(f"  {channel:<9}p50 {p50:.2f} s vs target {TARGET_P50:.1f} s: {'met' if ok else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
