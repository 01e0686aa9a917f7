"""SMTP e-mail via smtplib: implicit TLS (SMTP_SSL=true) or plain upgraded with STARTTLS when offered.

The mail goes from SMTP_EMAIL to itself, shown as SMTP_NAME, as multipart/alternative: the
content as plain text (Markdown removed) and as a small HTML page (mcp_push.render). SMTP_SERVER is ``host[:port]``;
without a port the default is 465 with SMTP_SSL=true, else 25 (as smtplib, and so the original
mcp-push, does). The password is never sent over a connection without TLS: a server that offers
no STARTTLS is refused unless SMTP_ALLOW_PLAINTEXT=true (a relay on loopback).
Reply codes decide retry: 4yz, disconnects and timeouts are transient; 5yz are permanent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_push.channels.base import Channel, Message, Receipt, Setting
from mcp_push.channels.errors import DeliveryError, PermanentError, TransientError

if TYPE_CHECKING:  # smtplib, ssl and email load when a mail is sent: the registry reads only the declarations
    import smtplib
    from email.message import EmailMessage

TRUE_WORDS = {"1", "true", "yes", "on"}
SMTP_PORT = 25  # smtplib.SMTP_PORT
SMTPS_PORT = 465  # smtplib.SMTP_SSL_PORT


def _reply_error(code: int, reply: bytes | str, what: str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = f"{what}: {code} {' '.join(text.split())}"
    if code == 535:
        reason += "; check SMTP_EMAIL / SMTP_PASSWORD (many providers want an app password or auth code)"
    if 500 <= code < 600:
        return PermanentError(reason, code=code)
    return TransientError(reason, code=code)  # 4yz, and anything unexpected: worth another try


class Smtp(Channel):
    id = "smtp"
    name = "SMTP e-mail"
    settings = (
        Setting("SMTP_SERVER", required=True, example="smtp.exmail.qq.com:465"),
        Setting("SMTP_SSL", example="true"),
        Setting("SMTP_EMAIL", required=True, example="alerts@example.com"),
        Setting("SMTP_PASSWORD", required=True, secret=True, example="app-password"),
        Setting("SMTP_NAME", example="mcp-push", text=True),
        Setting("SMTP_CA_FILE", example="/etc/ssl/certs/my-mail-ca.pem"),
        Setting("SMTP_ALLOW_PLAINTEXT", example="false"),
    )

    def _implicit_tls(self) -> bool:
        return self.get("SMTP_SSL").lower() in TRUE_WORDS

    def _address(self) -> tuple[str, int]:
        """(host, port) from SMTP_SERVER: ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare v6 address."""
        raw = self.get("SMTP_SERVER")
        host, port = _split_server(raw)
        if not host or port is None:
            raise PermanentError(f"SMTP_SERVER must be host or host:port (e.g. smtp.example.com:465), got {raw[:60]!r}")
        return host, port or (SMTPS_PORT if self._implicit_tls() else SMTP_PORT)

    def build(self, message: Message) -> EmailMessage:
        from email.headerregistry import Address
        from email.message import EmailMessage
        from email.utils import make_msgid

        sender = self.get("SMTP_EMAIL")
        user, _, domain = sender.rpartition("@")
        try:
            address = Address(display_name=self.get("SMTP_NAME", "mcp-push"), username=user, domain=domain)
        except ValueError as exc:
            raise PermanentError(f"SMTP_EMAIL is not a usable address: {exc}") from None
        mail = EmailMessage()  # the default policy writes non-ASCII headers as RFC 2047 words
        mail["Subject"] = " ".join(message.title.split())
        mail["From"] = address
        mail["To"] = address
        mail["Message-ID"] = make_msgid(domain=domain or "mcp-push.local")
        mail.set_content(self.render_body(message) or message.title, charset="utf-8")
        mail.add_alternative(self.html(message), subtype="html", charset="utf-8")
        return mail

    def html(self, message: Message) -> str:
        """The HTML half: a small document with the title, the content, the link and the source, all escaped."""
        from mcp_push.render.html import email_document
        from mcp_push.render.priority import html_colour

        body = self.render_body(message, dialect="email_html", link=False, source=False)
        title = " ".join(message.title.split())
        return email_document(title, body, url=message.url, source=message.source, colour=html_colour(message.event))

    def send(self, message: Message) -> Receipt:
        import smtplib
        import ssl

        host, port = self._address()
        mail = self.build(message)
        context = ssl.create_default_context()
        try:
            if self.get("SMTP_CA_FILE"):  # trusted in addition to the system's CAs
                context.load_verify_locations(cafile=self.get("SMTP_CA_FILE"))
        except (OSError, ssl.SSLError) as exc:
            raise PermanentError(f"SMTP_CA_FILE cannot be used as a CA bundle: {exc}") from None
        implicit_tls = self._implicit_tls()
        try:
            if implicit_tls:
                server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=self._clients.timeout, context=context)
            else:
                server = smtplib.SMTP(host, port, timeout=self._clients.timeout)
            try:
                server.ehlo()
                encrypted = implicit_tls
                if not implicit_tls and server.has_extn("starttls"):
                    server.starttls(context=context)
                    server.ehlo()
                    encrypted = True
                if not encrypted:
                    self._refuse_plaintext(host, port)
                server.login(self.get("SMTP_EMAIL"), self.get("SMTP_PASSWORD"))
                refused = server.send_message(mail)
            finally:
                _close(server)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _reply_error(code, reply, "recipient refused") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise _reply_error(exc.smtp_code, exc.smtp_error, "login refused") from None
        except smtplib.SMTPResponseException as exc:
            raise _reply_error(exc.smtp_code, exc.smtp_error, "server refused the mail") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientError(f"the SMTP server closed the connection ({exc or 'no reason given'})") from None
        except smtplib.SMTPException as exc:  # e.g. no AUTH offered on this port, no common AUTH mechanism
            hint = "use the submission port (465 with SMTP_SSL=true, or 587)"
            raise PermanentError(f"SMTP error: {' '.join(str(exc).split())}; {hint}") from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(
                f"the server's TLS certificate is not trusted ({exc.verify_message}); set SMTP_CA_FILE for a private CA"
            ) from None
        except ssl.SSLError as exc:
            hint = "SMTP_SSL=true needs the implicit-TLS port (465)" if implicit_tls else "check SMTP_SERVER's port"
            raise PermanentError(f"TLS failed ({exc.reason or exc}); {hint}") from None
        except TimeoutError:
            hint = "; port 465 usually needs SMTP_SSL=true" if port == 465 and not implicit_tls else ""
            raise TransientError(f"{host}:{port} did not answer in time{hint}") from None
        except OSError as exc:
            raise TransientError(f"could not reach {host}:{port}: {exc.strerror or type(exc).__name__}") from None
        if refused:
            code, reply = next(iter(refused.values()))
            raise _reply_error(code, reply, "recipient refused")
        return Receipt(mail["Message-ID"])

    def _refuse_plaintext(self, host: str, port: int) -> None:
        """Logging in without TLS would send SMTP_PASSWORD in clear: only for a relay the user vouches for."""
        if self.get("SMTP_ALLOW_PLAINTEXT").lower() in TRUE_WORDS:
            return
        raise PermanentError(
            f"{host}:{port} offers no STARTTLS, so logging in would send SMTP_PASSWORD unencrypted; "
            "use SMTP_SSL=true with the implicit-TLS port (465) or a port that offers STARTTLS (587), "
            "or set SMTP_ALLOW_PLAINTEXT=true for a trusted relay on this machine"
        )


def _split_server(raw: str) -> tuple[str, int | None]:
    """(host, port) of ``host[:port]``; port 0 when absent, None when it is not a number."""
    if raw.startswith("["):
        host, close, rest = raw[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            return "", None
        port = rest[1:]
    elif raw.count(":") == 1:
        host, _, port = raw.partition(":")
    else:  # no port, or an IPv6 address without brackets
        host, port = raw, ""
    if not port:
        return host, 0
    return host, int(port) if port.isdigit() else None


def _close(server: smtplib.SMTP) -> None:
    """Say QUIT politely; the mail is already accepted or refused, so trouble here does not matter."""
    import smtplib

    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
