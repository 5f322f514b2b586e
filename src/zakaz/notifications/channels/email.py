"""E-mail over SMTP (smtplib): multipart plain text + HTML, List-Unsubscribe, a stable Message-ID."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from zakaz.notifications.channels.base import ChannelError, Outgoing, SendResult
from zakaz.notifications.settings import NotifySettings


def build_email(message: Outgoing, *, sender: str) -> EmailMessage:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "zakaz.local"
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    # Stable per delivery: a resend after a crash carries the same id, so mail systems can drop the copy.
    mail["Message-ID"] = f"<zakaz-delivery-{message.delivery_id}@{domain}>"
    unsubscribe = message.data.get("unsubscribe_url")
    if unsubscribe:
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


class SmtpEmail:
    name = "email"

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            return smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        if s.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: Outgoing) -> SendResult:
        mail = build_email(message, sender=self.settings.smtp_from)
        try:
            with self._connect() as smtp:
                if self.settings.smtp_user:
                    smtp.login(self.settings.smtp_user, self.settings.smtp_password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"recipient refused: {exc.recipients}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {exc}") from exc
        if refused:
            raise ChannelError(f"recipient refused: {refused}", retryable=False)
        return SendResult(status="sent", provider_id=str(mail["Message-ID"]))
