"""Email transport over SMTP (smtplib), configured by one URL.

`send` returns the server's answer to the message (the reply to DATA, e.g. "250 2.0.0 Ok:
queued as 4B7F"), which the outbox records with the status; a refusal raises `SendError`
(permanent for 5xx). Only the worker calls it."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from honorbound.notify.models import Channel
from honorbound.notify.outbox import Message, SendError


class SmtpTransport:
    channel = Channel.EMAIL

    def __init__(self, url: str, mail_from: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = "starttls=1" in (parts.query or "")
        self.mail_from = mail_from
        self.timeout = timeout

    def build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message.message_id or self.message_id(message.id)
        email.set_content(message.body)
        # After the body: set_content clears every Content-* header (Content-Language, RFC 3282).
        for name, value in message.headers.items():
            email[name] = value
        return email

    def message_id(self, outbox_id: int) -> str:
        """A new Message-ID in our domain; the outbox keeps it for every resend."""
        domain = self.mail_from.rpartition("@")[2] or "honorbound.invalid"
        return f"<{uuid.uuid4().hex}.outbox{outbox_id}@{domain}>"

    def send(self, message: Message) -> str:
        email = self.build(message)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        try:
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as exc:
            # Nothing was sent: a plain "try later".
            raise SendError(f"no connection ({type(exc).__name__})", permanent=False) from exc
        try:
            try:
                if self.starttls:
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self.password or "")
                client.ehlo_or_helo_if_needed()
                # One step at a time (not sendmail) to keep the server's answer to DATA.
                code, reply = client.mail(self.mail_from)
                if code != 250:
                    raise _refused(code, reply)
                code, reply = client.rcpt(message.recipient)
                if code not in (250, 251):
                    raise _refused(code, reply)
            except smtplib.SMTPResponseException as exc:
                raise _refused(exc.smtp_code, exc.smtp_error) from exc
            except (smtplib.SMTPException, OSError) as exc:
                raise SendError(f"no session ({type(exc).__name__})", permanent=False) from exc
            # From here on a lost connection leaves the outcome unknown: the exception goes
            # up as it is and the outbox sends again with the same Message-ID.
            try:
                code, reply = client.data(email.as_bytes(policy=SMTP_POLICY))
            except smtplib.SMTPDataError as exc:  # refused before the content (not 354)
                raise _refused(exc.smtp_code, exc.smtp_error) from exc
            if code != 250:
                raise _refused(code, reply)
            accepted = f"{code} {reply.decode('utf-8', 'replace')}"
            # The message was taken; a failed goodbye changes nothing.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
            return accepted
        finally:
            client.close()


def _refused(code: int, reply: bytes | str) -> SendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return SendError(f"{code} {text}", permanent=500 <= code < 600)
