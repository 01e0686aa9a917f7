"""The SMTP channel against a real aiosmtpd server on 127.0.0.1 with AUTH, STARTTLS and implicit TLS.

Deliveries are driven like the contract suite: Deliverer + SqliteLedger + FakeClock.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import logging
import smtplib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcp_push.channels import HttpClients, Message, PermanentError, TransientError
from mcp_push.channels import smtp as smtp_module
from mcp_push.channels.smtp import Smtp
from mcp_push.storage import NewTicket, SqliteLedger
from mcp_push.tasks.delivery import Deliverer
from tests.conftest import FakeClock, settings_for

EMAIL = "alerts@example.com"
PASSWORD = "s3cret-App-Passw0rd"
NAME = "构建机器人 Bot"
TITLE = "构建完成 ✓ Build finished"
CONTENT = "所有 42 个测试通过。\nAll 42 tests passed."


# --- a throwaway CA and a server certificate for 127.0.0.1 -------------------------------
def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _sign(builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = builder.serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
    return builder.not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _sign(
        x509.CertificateBuilder()
        .subject_name(_name("mcp-push test CA"))
        .issuer_name(_name("mcp-push test CA"))
        .public_key(ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ),  # keyCertSign, cRLSign
        ca_key,
    )
    leaf = _sign(
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True),
        ca_key,
    )
    paths = Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


# --- the mail server ----------------------------------------------------------------
class Mailbox:
    """aiosmtpd handler: scripted DATA replies first, then accept and keep the message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.tls: list[bool] = []
        self.script: deque[str] = deque()
        self.logins: list[bool] = []  # one per AUTH that carried credentials: was the connection encrypted?

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.logins.append(session.ssl is not None)
        return _check_login(server, session, envelope, mechanism, auth_data)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.script:
            return self.script.popleft()
        self.messages.append(envelope)
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 2.0.0 Message accepted for delivery"


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        EMAIL.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MailServer:
    box: Mailbox
    port: int


@pytest.fixture
def mail_server(certs: Certs) -> Iterator[Callable[..., MailServer]]:
    controllers: list[Controller] = []

    def start(implicit_tls: bool, starttls: bool = True, auth_in_clear: bool = False) -> MailServer:
        """``auth_in_clear``: a server that offers AUTH on an unencrypted connection (and so takes a password)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs.cert, certs.key)
        box, port = Mailbox(), _free_port()
        options: dict[str, Any] = {"ssl_context": context} if implicit_tls else {"tls_context": context}
        if not starttls:
            options = {}
        controller = Controller(
            box,
            hostname="127.0.0.1",
            port=port,
            authenticator=box.authenticate,
            # implicit TLS is encrypted from the first byte
            auth_require_tls=not implicit_tls and not auth_in_clear,
            **options,
        )
        controller.start()
        controllers.append(controller)
        return MailServer(box, port)

    yield start
    for controller in controllers:
        controller.stop()


# --- delivery harness (as in test_contract.py) ---------------------------------------------
@dataclass
class Harness:
    ledger: SqliteLedger
    deliverer: Deliverer
    clock: FakeClock
    enqueued: list[tuple[int, float]] = field(default_factory=list)

    def deliver(self) -> tuple[str, Any]:
        record, _ = self.ledger.create_ticket(
            NewTicket(f"tk-{time.monotonic_ns()}", "run-1", TITLE, CONTENT, self.clock(), ("smtp",))
        )
        delivery_id = record.deliveries[0].id
        outcome = self.deliverer.run(delivery_id)
        return outcome, self.ledger.get_delivery(delivery_id)

    def stored(self) -> str:
        tables = ("tickets", "deliveries", "attempts", "rate_slots", "workers")
        return "\n".join(repr(row) for table in tables for row in self.ledger.dump_table(table))


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Harness]]:
    made: list[tuple[SqliteLedger, HttpClients]] = []

    def make(env: dict[str, str]) -> Harness:
        settings = settings_for(tmp_path / "home", {**env, "MCP_PUSH_HTTP_TIMEOUT": "5"})
        ledger, clients, clock = (
            SqliteLedger(settings.ledger_path),
            HttpClients(settings.http_timeout),
            FakeClock(time.time()),
        )
        made.append((ledger, clients))
        h = Harness(ledger, None, clock)  # type: ignore[arg-type]
        h.deliverer = Deliverer(
            settings,
            ledger,
            clients,
            "test-owner",
            lambda i, d: h.enqueued.append((i, d)),
            clock=clock,
            sleep=clock.sleep,
        )
        return h

    yield make
    for ledger, clients in made:
        clients.close()
        ledger.close()


def smtp_env(port: int, certs: Certs, **extra: str) -> dict[str, str]:
    env = {
        "SMTP_SERVER": f"127.0.0.1:{port}",
        "SMTP_EMAIL": EMAIL,
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_NAME": NAME,
        "SMTP_CA_FILE": str(certs.ca),
    }
    return {**env, **extra}


def assert_received(server: MailServer) -> None:
    assert len(server.box.messages) == 1
    envelope = server.box.messages[0]
    assert envelope.mail_from == EMAIL and envelope.rcpt_tos == [EMAIL]
    assert b"=?utf-8?" in envelope.original_content  # RFC 2047 words on the wire
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == TITLE
    assert mail["From"].addresses[0].display_name == NAME
    assert mail["From"].addresses[0].addr_spec == EMAIL
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == CONTENT
    page = mail.get_body(("html",)).get_content()
    assert page.startswith("<!DOCTYPE html>") and html.escape(TITLE, quote=False) in page
    assert server.box.tls == [True]


# --- tests ----------------------------------------------------------------------------------
def test_delivered_over_starttls(mail_server, harness, certs, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = mail_server(False)
    h = harness(smtp_env(server.port, certs))
    outcome, d = h.deliver()
    assert outcome == "delivered"
    assert (d.status, d.attempts, d.last_error) == ("delivered", 1, None)
    assert_received(server)
    assert PASSWORD not in h.stored() and PASSWORD not in caplog.text


def test_implicit_tls_delivered(mail_server, harness, certs) -> None:
    server = mail_server(True)
    h = harness(smtp_env(server.port, certs, SMTP_SSL="true"))
    outcome, d = h.deliver()
    assert outcome == "delivered", d.last_error
    assert_received(server)


def test_bad_password_fails_once_with_535(mail_server, harness, certs, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = mail_server(False)
    wrong = "Wr0ng-Passw0rd-xyz"
    h = harness(smtp_env(server.port, certs, SMTP_PASSWORD=wrong))
    outcome, d = h.deliver()
    assert outcome == "failed"
    assert (d.status, d.attempts) == ("failed", 1)
    assert "535" in d.last_error and "SMTP_PASSWORD" in d.last_error
    assert h.enqueued == [] and server.box.messages == []
    for secret in (wrong, PASSWORD):
        assert secret not in h.stored()
        assert secret not in caplog.text


def test_451_is_retried_then_delivered(mail_server, harness, certs) -> None:
    server = mail_server(False)
    server.box.script.append("451 4.3.0 Mailbox busy, try again later")
    h = harness(smtp_env(server.port, certs))
    outcome, d = h.deliver()
    assert outcome == "delivered"
    assert (d.status, d.attempts) == ("delivered", 2)
    assert_received(server)
    assert h.clock.sleeps  # waited between the two attempts


def test_550_is_permanent(mail_server, harness, certs) -> None:
    server = mail_server(False)
    server.box.script.append("550 5.7.1 Message rejected as spam")
    h = harness(smtp_env(server.port, certs))
    outcome, d = h.deliver()
    assert (outcome, d.attempts) == ("failed", 1)
    assert "550" in d.last_error and "rejected as spam" in d.last_error


def test_untrusted_certificate_is_permanent(mail_server, harness, certs) -> None:
    server = mail_server(False)
    env = smtp_env(server.port, certs)
    del env["SMTP_CA_FILE"]
    outcome, d = harness(env).deliver()
    assert (outcome, d.attempts) == ("failed", 1)
    assert "SMTP_CA_FILE" in d.last_error


def test_server_down_goes_to_retrying(harness, certs) -> None:
    h = harness(smtp_env(_free_port(), certs))
    outcome, d = h.deliver()
    assert outcome == "retrying"
    assert d.attempts == h.deliverer.settings.try_attempts
    assert "could not reach" in d.last_error


def test_missing_ca_file_is_permanent(harness, certs, tmp_path) -> None:
    outcome, d = harness(smtp_env(_free_port(), certs, SMTP_CA_FILE=str(tmp_path / "nope.pem"))).deliver()
    assert (outcome, d.attempts) == ("failed", 1)
    assert "SMTP_CA_FILE" in d.last_error


def test_no_auth_offered_is_permanent(mail_server, harness, certs) -> None:
    server = mail_server(False, starttls=False)  # plain server that only offers AUTH under TLS: none here
    outcome, d = harness(smtp_env(server.port, certs, SMTP_ALLOW_PLAINTEXT="true")).deliver()
    assert (outcome, d.attempts) == ("failed", 1)
    assert "AUTH extension not supported" in d.last_error and "587" in d.last_error


def test_no_password_over_a_connection_without_tls(mail_server, harness, certs, caplog) -> None:
    """A server that offers AUTH but no STARTTLS would get the password in clear: refused, never sent."""
    caplog.set_level(logging.DEBUG)
    server = mail_server(False, starttls=False, auth_in_clear=True)
    h = harness(smtp_env(server.port, certs))
    outcome, d = h.deliver()
    assert (outcome, d.attempts, d.status) == ("failed", 1, "failed")
    assert "no STARTTLS" in d.last_error and "SMTP_ALLOW_PLAINTEXT=true" in d.last_error
    assert "SMTP_SSL=true" in d.last_error
    assert server.box.logins == [] and server.box.messages == []
    assert PASSWORD not in h.stored() and PASSWORD not in caplog.text


def test_plaintext_login_when_the_user_allows_it(mail_server, harness, certs) -> None:
    server = mail_server(False, starttls=False, auth_in_clear=True)
    outcome, d = harness(smtp_env(server.port, certs, SMTP_ALLOW_PLAINTEXT="true")).deliver()
    assert (outcome, d.last_error) == ("delivered", None)
    assert server.box.logins == [False] and server.box.tls == [False]
    assert len(server.box.messages) == 1


def test_starttls_is_still_used_when_plaintext_is_allowed(mail_server, harness, certs) -> None:
    server = mail_server(False)
    outcome, d = harness(smtp_env(server.port, certs, SMTP_ALLOW_PLAINTEXT="true")).deliver()
    assert outcome == "delivered", d.last_error
    assert server.box.logins == [True]
    assert_received(server)


@pytest.mark.parametrize(
    ("server", "ssl_on", "address"),
    [
        ("smtp.example.com", "", ("smtp.example.com", 25)),
        ("smtp.example.com", "true", ("smtp.example.com", 465)),
        ("smtp.example.com:587", "", ("smtp.example.com", 587)),
        ("[2001:db8::25]", "true", ("2001:db8::25", 465)),
        ("[2001:db8::25]:2525", "", ("2001:db8::25", 2525)),
        ("2001:db8::25", "", ("2001:db8::25", 25)),
    ],
)
def test_smtp_server_without_a_port_uses_the_default(server: str, ssl_on: str, address: tuple[str, int]) -> None:
    """As smtplib (and so the original mcp-push) does: 465 with SMTP_SSL=true, else 25."""
    channel = Smtp({"SMTP_SERVER": server, "SMTP_SSL": ssl_on}, clients=HttpClients(1))
    assert channel._address() == address


@pytest.mark.parametrize("server", ["smtp.example.com:smtp", "[2001:db8::25", ":25"])
def test_a_malformed_smtp_server_is_permanent(server: str) -> None:
    with pytest.raises(PermanentError, match="SMTP_SERVER must be host or host:port"):
        Smtp({"SMTP_SERVER": server}, clients=HttpClients(1))._address()


@pytest.mark.parametrize("implicit", [False, True])
def test_delivered_to_a_server_named_without_a_port(mail_server, harness, certs, monkeypatch, implicit) -> None:
    """End to end: the default port (pointed at the test server, which cannot listen on 25/465) is used."""
    server = mail_server(implicit)
    monkeypatch.setattr(smtp_module, "SMTPS_PORT" if implicit else "SMTP_PORT", server.port)
    env = {**smtp_env(server.port, certs), "SMTP_SERVER": "127.0.0.1"}
    outcome, d = harness({**env, "SMTP_SSL": "true"} if implicit else env).deliver()
    assert outcome == "delivered", d.last_error
    assert_received(server)


def test_every_text_setting_takes_cjk_and_emoji(mail_server, harness, certs) -> None:
    """The contract suite's CJK case, for the channel whose provider is a real SMTP server."""
    server = mail_server(False)
    texts = {s.name: "构建机器人 🤖 告警" for s in Smtp.settings if s.text}
    assert texts, "SMTP_NAME is free text"
    outcome, d = harness({**smtp_env(server.port, certs), **texts}).deliver()
    assert outcome == "delivered", d.last_error
    mail = message_from_bytes(server.box.messages[0].original_content, policy=policy.default)
    assert mail["From"].addresses[0].display_name == "构建机器人 🤖 告警"


@pytest.mark.parametrize("implicit", [False, True])
def test_the_connection_waits_settings_http_timeout(tmp_path, monkeypatch, implicit) -> None:
    """SMTP waits as long as an HTTP channel does: Settings.http_timeout, handed over with the clients."""
    seen: list[float] = []

    def connect(host: str, port: int, *, timeout: float, **kwargs: Any) -> smtplib.SMTP:
        seen.append(timeout)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(smtplib, "SMTP_SSL" if implicit else "SMTP", connect)  # smtp.py imports it at send time
    settings = settings_for(tmp_path / "home", {"MCP_PUSH_HTTP_TIMEOUT": "2.5"})
    env = {"SMTP_SERVER": "127.0.0.1:2525", "SMTP_EMAIL": EMAIL, "SMTP_PASSWORD": PASSWORD}
    channel = Smtp({**env, "SMTP_SSL": "true" if implicit else ""}, clients=HttpClients(settings.http_timeout))
    with pytest.raises(TransientError):
        channel.send(Message(title=TITLE, content=CONTENT))
    assert seen == [2.5]
