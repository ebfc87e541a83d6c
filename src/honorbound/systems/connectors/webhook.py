"""HTTP systems through the signed webhook protocol (`honorbound.systems.protocol`).

One call per system and request: the system gets every lookup for its collections and answers
for all of them. Network errors, time-outs, 429 and 5xx are retried with exponential backoff
(`retries` times) under the same idempotency key; any other answer that is not the protocol
(unsigned, not JSON, wrong shape, too large) is an error naming the system, never retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from honorbound.systems import protocol
from honorbound.systems.connectors.base import ConnectorSettings, Erased, LiveProblem, Row
from honorbound.systems.errors import ConnectionFailed, SystemAnswerError
from honorbound.systems.maps import SystemMap, effective_strategy
from honorbound.systems.secrets import connection_url, redacted, signing_secret

BACKOFF_BASE = 0.25
BACKOFF_MAX = 4.0


@dataclass
class WebhookAnswer:
    status: str  # done | accepted
    collections: dict[str, list[Row]] = field(default_factory=dict)
    affected: dict[str, Erased] = field(default_factory=dict)
    attempts: int = 1


class WebhookConnector:
    def __init__(
        self,
        system: SystemMap,
        settings: ConnectorSettings,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system = system
        self.settings = settings
        self.url = connection_url(system, environ)
        self.where = redacted(self.url)
        self.secret = signing_secret(system, environ)
        timeout = system.connection.timeout_seconds
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            transport=transport,
        )
        self.sleep = time.sleep

    def body(
        self, action: str, key: str, lookups: dict[str, dict[str, set[Any]]], callback_url: str
    ) -> bytes:
        doc: dict[str, Any] = {
            "protocol": protocol.PROTOCOL,
            "id": key,
            "action": action,
            "system": self.system.key,
            "lookups": {
                c: {f: sorted({str(v) for v in vals}) for f, vals in fields.items() if vals}
                for c, fields in lookups.items()
            },
            "callback_url": callback_url,
        }
        if action == "erasure":
            doc["erase"] = {
                c.name: {
                    "delete_rows": c.delete_rows,
                    "fields": {
                        f.name: effective_strategy(c, f).name
                        for f in c.fields
                        if effective_strategy(c, f).name not in ("keep", "delete")
                    },
                }
                for c in self.system.collections
                if c.name in lookups
            }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    def call(
        self, action: str, key: str, lookups: dict[str, dict[str, set[Any]]], callback_url: str
    ) -> WebhookAnswer:
        body = self.body(action, key, lookups, callback_url)
        attempts = 1 + self.system.connection.retries
        last = ""
        for attempt in range(1, attempts + 1):
            headers = protocol.signed_headers(self.secret, body)
            headers[protocol.IDEMPOTENCY] = key
            try:
                with self.client.stream("POST", self.url, content=body, headers=headers) as resp:
                    data = self._read(resp)
                    status = resp.status_code
                    answer_headers = resp.headers
            except httpx.TimeoutException:
                last = f"did not answer within {self.system.connection.timeout_seconds:g} s"
            except httpx.HTTPError as exc:
                last = f"cannot connect to {self.where} ({type(exc).__name__})"
            else:
                if status == 429 or status >= 500:
                    last = f"answered HTTP {status}"
                    retry_after = answer_headers.get("Retry-After", "")
                    if retry_after.isdigit() and attempt < attempts:
                        self.sleep(min(float(retry_after), BACKOFF_MAX))
                        continue
                else:
                    answer = self._answer(action, key, status, answer_headers, data)
                    answer.attempts = attempt
                    return answer
            if attempt < attempts:
                self.sleep(min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX))
        raise ConnectionFailed(self.system.key, f"{last} ({attempts} attempt(s))", "connection")

    def _read(self, resp: httpx.Response) -> bytes:
        limit = self.settings.max_response_bytes
        chunks = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise SystemAnswerError(
                    self.system.key, f"answered more than {limit} bytes", "answer"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _answer(
        self, action: str, key: str, status: int, headers: httpx.Headers, data: bytes
    ) -> WebhookAnswer:
        problem = protocol.verify(
            self.secret, headers.get(protocol.TIMESTAMP), headers.get(protocol.SIGNATURE), data
        )
        if status not in (200, 202):
            detail = ""
            if problem is None:
                try:
                    detail = str(json.loads(data).get("error", ""))[:200]
                except (ValueError, AttributeError):
                    detail = ""
            raise SystemAnswerError(
                self.system.key,
                f"answered HTTP {status}" + (f": {detail}" if detail else ""),
                "answer",
            )
        if problem is not None:
            raise SystemAnswerError(
                self.system.key, f"the answer is not signed: {problem}", "answer"
            )
        return parse_result(self.system, action, key, data, status == 202)

    def check_live(self, lookups: dict[str, set[str]] | None = None) -> list[LiveProblem]:
        return []

    def close(self) -> None:
        self.client.close()


def parse_result(
    system: SystemMap, action: str, key: str, data: bytes, accepted: bool = False
) -> WebhookAnswer:
    """A 200 answer or a callback body, checked against the protocol and the map."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SystemAnswerError(
            system.key, f"answered with something that is not JSON ({len(data)} bytes)", "answer"
        ) from None
    if not isinstance(doc, dict):
        raise SystemAnswerError(system.key, "the answer is not a JSON object", "answer")
    if doc.get("id") != key:
        raise SystemAnswerError(
            system.key, "the answer's `id` is not the idempotency key of the request", "answer.id"
        )
    status = doc.get("status")
    if accepted or status == "accepted":
        return WebhookAnswer("accepted")
    if status == "failed":
        reason = str(doc.get("error", ""))[:200]
        raise SystemAnswerError(system.key, f"reported the job failed: {reason}", "answer.status")
    if status != "done":
        raise SystemAnswerError(
            system.key, "the answer's `status` is not done, accepted or failed", "answer.status"
        )
    answer = WebhookAnswer("done")
    names = {c.name: {f.name for f in c.fields} for c in system.collections}
    if action == "access":
        collections = doc.get("collections", {})
        if not isinstance(collections, dict):
            raise SystemAnswerError(
                system.key, "`collections` is not an object", "answer.collections"
            )
        for name, rows in collections.items():
            if name not in names:
                raise SystemAnswerError(
                    system.key,
                    f"answered rows for collection '{name}', which the map does not declare",
                    "answer.collections",
                )
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise SystemAnswerError(
                    system.key,
                    f"`collections.{name}` is not a list of objects",
                    "answer.collections",
                )
            answer.collections[name] = [
                {k: v for k, v in r.items() if k in names[name]} for r in rows
            ]
        return answer
    affected = doc.get("affected", {})
    if not isinstance(affected, dict):
        raise SystemAnswerError(system.key, "`affected` is not an object", "answer.affected")
    for name, counts in affected.items():
        if name not in names or not isinstance(counts, dict):
            raise SystemAnswerError(
                system.key,
                f"`affected.{name}` is not a declared collection's counts",
                "answer.affected",
            )
        rows = counts.get("rows", 0)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise SystemAnswerError(
                system.key, f"`affected.{name}.rows` is not a count", "answer.affected"
            )
        fields = counts.get("fields", {})
        if not isinstance(fields, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in fields.values()
        ):
            raise SystemAnswerError(
                system.key, f"`affected.{name}.fields` is not counts per field", "answer.affected"
            )
        answer.affected[name] = Erased(
            rows_deleted=rows, fields={str(k): int(v) for k, v in fields.items()}
        )
    return answer
