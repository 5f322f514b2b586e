"""Channel adapters from settings: a configured provider sends, an unconfigured channel records."""

from __future__ import annotations

from zakaz.notifications.channels.base import ChannelAdapter, RecordingChannel
from zakaz.notifications.settings import NotifySettings


def build_channels(settings: NotifySettings) -> dict[str, ChannelAdapter]:
    channels: dict[str, ChannelAdapter] = {}
    if settings.smtp_host:
        from zakaz.notifications.channels.email import SmtpEmail

        channels["email"] = SmtpEmail(settings)
    else:
        channels["email"] = RecordingChannel("email")
    if settings.smsru_api_id:
        from zakaz.notifications.channels.sms import SmsRu

        channels["sms"] = SmsRu(settings)
    else:
        channels["sms"] = RecordingChannel("sms")
    if settings.vapid_private_key:
        from zakaz.notifications.channels.push import WebPush

        channels["push"] = WebPush(settings)
    else:
        channels["push"] = RecordingChannel("push")
    from zakaz.notifications.channels.webhook import WebhookSender

    channels["webhook"] = WebhookSender(
        settings.webhook_timeout_seconds, allow_private=settings.allow_private_destinations
    )
    return channels
