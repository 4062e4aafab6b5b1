"""Sending one rendered message: by e-mail, to Slack, to Teams, or to a signed webhook.

Each sender returns the server's answer on success and raises ``DeliveryFailed``
with the server's answer (or why there was none) otherwise; the outbox decides
whether to try again.
"""

import hashlib
import hmac
import json
import smtplib

import requests
from django.conf import settings
from django.core.mail import EmailMessage

from .messages import Message
from .models import Channel, Notification

TIMEOUT_SECONDS = 10
ANSWER_LIMIT = 2000
SIGNATURE_HEADER = "X-Baton-Signature"


class DeliveryFailed(Exception):
    """The message did not get through; the text is the server's answer, for the admin."""


def deliver(notification: Notification, message: Message) -> str:
    channel = notification.channel
    if channel is None:
        return send_email([notification.user.email] if notification.user.email else [], message)
    if channel.kind == Channel.Kind.EMAIL:
        return send_email(channel.address_list, message)
    if channel.kind == Channel.Kind.SLACK:
        return post_json(channel.url, {"text": f"*{message.subject}*\n{message.text}"})
    if channel.kind == Channel.Kind.TEAMS:
        return post_json(channel.url, teams_card(message))
    return post_webhook(channel, message)


def send_email(addresses: list[str], message: Message) -> str:
    if not addresses:
        raise DeliveryFailed("No e-mail address to send to.")
    email = EmailMessage(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(
            f"{address}: {code} {_text(reply)}" for address, (code, reply) in exc.recipients.items()
        )
        raise DeliveryFailed(f"The mail server refused the recipients: {answers}") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"The mail server answered {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"Could not reach the mail server: {exc}") from None
    return f"Accepted by the mail server for {', '.join(addresses)}."


def teams_card(message: Message) -> dict:
    """A Teams "MessageCard", which incoming webhooks accept."""
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message.subject,
        "title": message.subject,
        "text": message.text.replace("\n", "\n\n"),
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "Open in Baton",
                "targets": [{"os": "default", "uri": message.link}],
            }
        ],
    }


def signature(secret: str, body: bytes) -> str:
    """The X-Baton-Signature header's value: ``sha256=`` and the HMAC of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(channel: Channel, message: Message) -> str:
    body = json.dumps({**message.data, "subject": message.subject, "text": message.text})
    headers = {
        "X-Baton-Event": message.data["event"],
        "X-Baton-Delivery": str(message.data["delivery"]),
    }
    if channel.secret:
        headers[SIGNATURE_HEADER] = signature(channel.secret, body.encode())
    return post_json(channel.url, body, headers=headers)


def post_json(url: str, payload, *, headers: dict | None = None) -> str:
    if not url:
        raise DeliveryFailed("The channel has no webhook URL.")
    body = payload if isinstance(payload, str) else json.dumps(payload)
    try:
        answer = requests.post(
            url,
            data=body.encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        said = str(exc).replace(url.split(_origin(url), 1)[-1] or "\0", "/…")
        raise DeliveryFailed(f"Could not reach {_origin(url)}: {said}") from None
    said = f"HTTP {answer.status_code} {answer.reason}: {answer.text[:ANSWER_LIMIT]}".strip()
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(said)
    return said


def _origin(url: str) -> str:
    # The path of a Slack or Teams webhook is its secret: only its server is named.
    return "/".join(url.split("/", 3)[:3])


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
