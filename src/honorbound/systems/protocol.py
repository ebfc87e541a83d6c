"""The signed webhook protocol between Honorbound and an HTTP system (SaaS, in-house service).

Every message, both ways, is a JSON body with two headers:

    Honorbound-Timestamp: 1767225600                 Unix seconds when it was sent
    Honorbound-Signature: v1=<hex>                    HMAC-SHA256(secret, "<timestamp>." + body)

The receiver recomputes the signature over the exact bytes received, compares in constant time
and refuses a timestamp more than `TOLERANCE` seconds away (a replayed message). Honorbound's
requests also carry `Idempotency-Key`: the same key is sent again on every retry of the same
work, and the receiver answers a key it has seen with the answer it gave (no double erasure).

Request body (Honorbound -> system):
    {"protocol": "honorbound-systems/v1", "id": "<idempotency key>",
     "action": "access" | "erasure", "system": "<fides_key>",
     "lookups": {"<collection>": {"<field>": ["value", ...]}},
     "erase": {"<collection>": {"delete_rows": bool, "fields": {"<field>": "<strategy>"}}},
     "callback_url": "https://.../v1/systems/callbacks/<token>"}

Answers (system -> Honorbound), signed the same way:
    200 {"id": ..., "status": "done", "collections": {"<collection>": [{...row...}]}}   access
    200 {"id": ..., "status": "done", "affected": {"<collection>": {"rows": n, ...}}}    erasure
    202 {"id": ..., "status": "accepted"}    a long job: the result comes later, POSTed to
                                             callback_url with the body of a 200 answer
    4xx/5xx {"error": "..."}                 429 and 5xx are retried with backoff
"""

from __future__ import annotations

import hashlib
import hmac
import time

PROTOCOL = "honorbound-systems/v1"
TIMESTAMP = "Honorbound-Timestamp"
SIGNATURE = "Honorbound-Signature"
IDEMPOTENCY = "Idempotency-Key"
TOLERANCE = 300


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        TIMESTAMP: timestamp,
        SIGNATURE: signature(secret, timestamp, body),
    }


def verify(
    secret: bytes, timestamp: str | None, sig: str | None, body: bytes, now: float | None = None
) -> str | None:
    """None when the message is authentic and fresh; otherwise what is wrong (one sentence)."""
    if not timestamp or not sig:
        return f"the {TIMESTAMP} and {SIGNATURE} headers are required"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return f"{TIMESTAMP} is not Unix seconds"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > TOLERANCE:
        return f"{TIMESTAMP} is more than {TOLERANCE} s away from now (replayed or clock skew)"
    if not hmac.compare_digest(signature(secret, timestamp, body), sig.strip()):
        return f"{SIGNATURE} does not match the body"
    return None
