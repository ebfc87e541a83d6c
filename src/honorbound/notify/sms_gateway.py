"""SMS transport: one HTTP gateway client, configured for a generic gateway, Twilio or Vonage.

Every provider's "send a text" API is the same shape: an HTTPS POST carrying to, from and the
text, authenticated, answered with the provider's message id. A `GatewayProfile` says how one
provider spells that (URL, JSON or form body, field names, number format, authentication, where
the id is in the answer); `HttpSmsTransport` does the rest. Three profiles ship:

* `generic`: JSON `{"to", "from", "body", "reference"}` POSTed to your URL, signed as every
  Honorbound webhook is (`systems.protocol`): `Honorbound-Timestamp: <unix seconds>` and
  `Honorbound-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`; the gateway
  recomputes it over the bytes received (`protocol.verify`) and refuses a stale timestamp.
  Answer: JSON `id`.
* `twilio`: Programmable Messaging, `POST /2010-04-01/Accounts/{account}/Messages.json`,
  form `To`, `From`, `Body`, HTTP Basic (Account SID, Auth Token); answer `sid`.
* `vonage`: Messages API, `POST /v1/messages`, JSON `message_type: text`, `channel: sms`,
  `to`, `from` (digits, no +), `text`, `client_ref`; HTTP Basic (API key, secret); answer
  `message_uuid`.

Every request carries the outbox's message id (fixed before the first attempt, the same on every
resend) as `Idempotency-Key` and as the body's reference (`reference`, `client_ref`), so a
gateway that keeps them can drop a copy sent again after a lost answer. Outcomes, as the outbox
expects (`Transport`): 2xx = accepted (the provider's id is recorded); 408, 425, 429 and 5xx =
refused for now (`SendError`, tried again later); other 4xx = refused for good; no answer (a
timeout or a dropped connection after the request went out) = outcome unknown, sent again.
Only the worker sends; the recipient's number never goes into a log or the recorded outcome.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode, urlsplit

import httpx

from honorbound.notify.models import Channel
from honorbound.notify.outbox import Message, SendError
from honorbound.systems import protocol

RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class GatewayProfile:
    name: str
    url: str  # default endpoint; `{account}` is replaced by the account id
    encoding: Literal["json", "form"]
    auth: Literal["hmac", "basic"]
    to_field: str
    from_field: str
    body_field: str
    reference_field: str | None
    answer_id: str  # the field of the JSON answer holding the provider's message id
    plus: bool = True  # numbers in E.164 with "+" (False: digits only)
    fixed: dict[str, str] = field(default_factory=dict)  # constant body fields


PROFILES: dict[str, GatewayProfile] = {
    "generic": GatewayProfile(
        name="generic",
        url="",
        encoding="json",
        auth="hmac",
        to_field="to",
        from_field="from",
        body_field="body",
        reference_field="reference",
        answer_id="id",
    ),
    "twilio": GatewayProfile(
        name="twilio",
        url="https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json",
        encoding="form",
        auth="basic",
        to_field="To",
        from_field="From",
        body_field="Body",
        reference_field=None,  # Twilio's create call has no client reference field
        answer_id="sid",
    ),
    "vonage": GatewayProfile(
        name="vonage",
        url="https://api.nexmo.com/v1/messages",
        encoding="json",
        auth="basic",
        to_field="to",
        from_field="from",
        body_field="text",
        reference_field="client_ref",
        answer_id="message_uuid",
        plus=False,
        fixed={"message_type": "text", "channel": "sms"},
    ),
}


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


class HttpSmsTransport:
    """The outbox's SMS transport (channel `sms`) over one gateway profile."""

    channel = Channel.SMS

    def __init__(
        self,
        profile: str,
        secret: str,
        *,
        url: str = "",
        account: str = "",
        sender: str = "",
        timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
        client: httpx.Client | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"SMS gateway must be one of: {', '.join(PROFILES)}")
        self.profile = PROFILES[profile]
        if not secret:
            raise ValueError(
                "the SMS gateway needs its secret (HMAC key, auth token or API secret)"
            )
        if self.profile.auth == "basic" and not account:
            raise ValueError(f"the {profile} gateway needs the account (SID or API key)")
        target = url or self.profile.url
        if not target:
            raise ValueError(f"the {profile} gateway needs its URL")
        target = target.replace("{account}", account)
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the SMS gateway URL must look like https://host/path")
        self.url = target
        self.secret = secret.encode("utf-8")
        self.account = account
        self.sender = sender  # default From number, when the message names none
        self.timeout = timeout
        self.clock = clock
        self._client = client

    def _number(self, value: str) -> str:
        return value if self.profile.plus else value.lstrip("+")

    def build(self, message: Message) -> Request:
        """The exact HTTP request for one message (what the gateway receives)."""
        p = self.profile
        sender = message.headers.get("From") or self.sender
        if not sender:
            raise SendError("no sending number (From) for this message", permanent=True)
        fields: dict[str, str] = {
            **p.fixed,
            p.to_field: self._number(message.recipient),
            p.from_field: self._number(sender),
            p.body_field: message.body,
        }
        reference = message.message_id or f"outbox-{message.id}"
        if p.reference_field:
            fields[p.reference_field] = reference
        headers = {protocol.IDEMPOTENCY: reference, "Accept": "application/json"}
        if p.encoding == "json":
            body = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode("utf-8")
            headers["Content-Type"] = "application/json"
        else:
            body = urlencode(fields).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if p.auth == "hmac":
            headers.update(protocol.signed_headers(self.secret, body, now=self.clock()))
            headers["Content-Type"] = "application/json"
        else:
            token = base64.b64encode(self.account.encode() + b":" + self.secret).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return Request(self.url, headers, body)

    def send(self, message: Message) -> str:
        request = self.build(message)
        client = self._client or httpx.Client(timeout=self.timeout)
        try:
            try:
                response = client.post(request.url, content=request.body, headers=request.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached the gateway: a plain "try later".
                raise SendError(f"no connection ({type(exc).__name__})", permanent=False) from exc
            # Any other transport error (a timeout, a dropped answer) goes up as it is: the
            # gateway may have taken the message, and the outbox resends it with the same key.
            return self._outcome(response)
        finally:
            if self._client is None:
                client.close()

    def _outcome(self, response: httpx.Response) -> str:
        status = response.status_code
        if 200 <= status < 300:
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            found = answer.get(self.profile.answer_id) if isinstance(answer, dict) else None
            return f"{status} {self.profile.name} id {found}" if found else f"{status} accepted"
        reason = f"{status} {response.reason_phrase}".strip()
        if status >= 500 or status in RETRY_STATUSES:
            raise SendError(reason, permanent=False)
        # The provider's error text may quote the number; only the status is kept.
        raise SendError(reason, permanent=True)
