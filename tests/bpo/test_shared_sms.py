"""Shared SMS numbers over real HTTP (uvicorn on loopback): a BPO sends for two clients from
one long code and one short code; STOPs are attributed to the client the person last heard
from on that number, to every client when that is ambiguous or the number routes to all, and
never to nobody. The oracle is a table written from the rule (docs/bpo.md, module docstring of
bpo.sms_numbers), checked against the consent_events rows on disk, not against the code's own
answer; the outbox is counted for the one confirmation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from honorbound.api.app import create_app
from honorbound.consent import sms
from honorbound.runtime import Runtime
from tests.conftest import Tenant
from tests.consent.conftest import number
from tests.support.live import serve

LONG = "+12125550190"
SHORT = "55519"


@pytest.fixture
def live(runtime: Runtime) -> Iterator[str]:
    with serve(create_app(runtime)) as url:
        yield url


def _events(runtime: Runtime) -> list[tuple[Any, ...]]:
    with runtime.db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT organization_id, scope, action FROM consent_events ORDER BY id")
            )
        ]


def _count(runtime: Runtime, sql: str) -> int:
    with runtime.db.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


class Bpo:
    def __init__(self, http: httpx.Client, runtime: Runtime, tenant: Tenant) -> None:
        self.http, self.runtime, self.tenant = http, runtime, tenant
        self.ids: dict[str, int] = {}
        self.keys: dict[str, dict[str, str]] = {}

    def onboard(self, slug: str) -> None:
        made = self.http.post(
            "/v1/clients",
            json={"slug": slug, "name": f"Client {slug}", "privacy_contact": "p@x.example"},
            headers=self.tenant.headers(),
        )
        assert made.status_code == 201, made.text
        self.ids[slug] = made.json()["id"]
        key = self.http.post(
            f"/v1/clients/{self.ids[slug]}/api-keys",
            json={"name": "dialer", "role": "agent"},
            headers=self.tenant.headers(),
        )
        assert key.status_code == 201, key.text
        self.keys[slug] = {"Authorization": f"Bearer {key.json()['key']}"}

    def sent(self, slug: str, sender: str, to: str, minutes_ago: int) -> httpx.Response:
        at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
        return self.http.post(
            "/v1/sms-numbers/sent",
            json={"from": sender, "to": to, "sent_at": at.isoformat()},
            headers=self.keys[slug],
        )

    def text(
        self, path_number: str, to: str, sender: str, body: str, sid: str, sign: bool = True
    ) -> httpx.Response:
        url = f"{self.http.base_url}v1/public/sms/numbers/{path_number}"
        form = {"From": sender, "To": to, "Body": body, "MessageSid": sid}
        check = sms.HmacUrlParams(sms.webhook_secret(self.runtime.keys, self.tenant.id))
        signature = check.expected(url, form) if sign else "bm9wZQ=="
        return self.http.post(url, data=form, headers={"X-Twilio-Signature": signature})


def test_stops_on_shared_numbers_reach_the_right_clients(
    live: str, runtime: Runtime, tenant: Tenant
) -> None:
    with httpx.Client(base_url=live + "/", timeout=60) as http:
        bpo = Bpo(http, runtime, tenant)
        for slug in ("one", "two", "three"):
            bpo.onboard(slug)
        for value, routing in ((LONG, "last_sender"), (SHORT, "all")):
            made = http.post(
                "/v1/sms-numbers",
                json={"number": value, "clients": ["one", "two"], "routing": routing},
                headers=tenant.headers(),
            )
            assert made.status_code == 201, made.text
        listed = http.get("/v1/sms-numbers", headers=tenant.headers()).json()["items"]
        assert {(i["number"], i["routing"], tuple(i["clients"])) for i in listed} == {
            (LONG, "last_sender", ("one", "two")),
            (SHORT, "all", ("one", "two")),
        }
        one, two = bpo.ids["one"], bpo.ids["two"]
        heard_two, nobody, heard_one, starter = (number("646", n) for n in (71, 72, 73, 74))
        for slug, person, ago in (("one", heard_two, 10), ("two", heard_two, 5)):
            assert bpo.sent(slug, LONG, person, ago).status_code == 204
        assert bpo.sent("one", LONG, heard_one, 3).status_code == 204
        assert bpo.sent("one", SHORT, heard_one, 3).status_code == 204
        path = LONG.lstrip("+")
        # (number in the path, To, person, body, expected clients, expected ambiguous)
        table = [
            (path, LONG, heard_two, "STOP", ["two"], False),  # two sent last
            (path, LONG, nobody, "stop", ["one", "two"], True),  # no send on record
            (path, LONG, starter, "START", [], True),  # an opt-in is never guessed
            (path, LONG, heard_one, "STOPALL", ["one", "two"], False),  # all senders
            (SHORT, SHORT, heard_one, "STOP", ["one", "two"], False),  # routed to all
        ]
        expected_events: list[tuple[Any, ...]] = []
        for n, (where, to, person, body, slugs, ambiguous) in enumerate(table):
            answer = bpo.text(where, to, person, body, f"SM{n:04d}")
            assert answer.status_code == 200, answer.text
            found = answer.json()
            assert (found["clients"], found["ambiguous"]) == (slugs, ambiguous), body
            scope = "" if body == "STOPALL" else to
            action = "opt_in" if body == "START" else "opt_out"
            expected_events += [(bpo.ids[s], scope, action) for s in slugs]
        assert bpo.sent("two", LONG, starter, 1).status_code == 204
        answer = bpo.text(path, LONG, starter, "START", "SM0100")
        assert (answer.json()["clients"], answer.json()["ambiguous"]) == (["two"], False)
        expected_events.append((two, LONG, "opt_in"))
        assert _events(runtime) == expected_events
        # One confirmation per message, however many clients it was applied to: STOP, stop,
        # STOPALL and the attributed START (4); none for the unattributed START, and none for
        # the short-code STOP of a person already opted out of everything by text (CTIA: one
        # confirmation, nothing after it).
        assert _count(runtime, "SELECT count(*) FROM outbox WHERE kind LIKE 'consent.sms.%'") == 4
        # The same message id again: nothing new.
        again = bpo.text(path, LONG, nobody, "stop", "SM0001")
        assert again.json()["duplicate"] is True
        assert _events(runtime) == expected_events
        assert one != two


def test_bad_input_on_shared_numbers_changes_nothing(
    live: str, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    with httpx.Client(base_url=live + "/", timeout=60) as http:
        bpo = Bpo(http, runtime, tenant)
        for slug in ("one", "two"):
            bpo.onboard(slug)
        made = http.post(
            "/v1/sms-numbers",
            json={"number": LONG, "clients": ["one"], "routing": "last_sender"},
            headers=tenant.headers(),
        )
        assert made.status_code == 201, made.text
        person = number("646", 75)
        before = _count(runtime, "SELECT count(*) FROM audit_entries")
        for body, headers in (
            ({"number": LONG, "clients": ["one"], "routing": "whoever"}, tenant.headers()),
            ({"number": "12", "clients": ["one"]}, tenant.headers()),
            ({"number": LONG, "clients": []}, tenant.headers()),
            ({"number": LONG, "clients": ["org-b"]}, tenant.headers()),  # not its client
            ({"number": LONG, "clients": ["one"]}, other_tenant.headers()),  # another's number
            ({"number": LONG, "clients": ["one"], "x": 1}, tenant.headers()),
        ):
            answer = http.post("/v1/sms-numbers", json=body, headers=headers)
            assert answer.status_code in (403, 422), (body, answer.text)
        assert bpo.sent("two", LONG, person, 1).status_code == 422  # two is not on the number
        assert bpo.sent("one", LONG, "not a number", 1).status_code == 422
        assert bpo.sent("one", "+12125550191", person, 1).status_code == 422
        path = LONG.lstrip("+")
        assert bpo.text(path, LONG, person, "STOP", "SM1", sign=False).status_code == 403
        assert bpo.text("12125550191", LONG, person, "STOP", "SM2").status_code == 404
        assert bpo.text(path, "+12125550191", person, "STOP", "SM3").status_code == 422
        assert bpo.text(path, LONG, "nonsense", "STOP", "SM4").status_code == 422
        assert bpo.text(path, LONG, person, "STOP", "S" * 121).status_code == 422
        assert _events(runtime) == []
        assert _count(runtime, "SELECT count(*) FROM consent_sms_inbound") == 0
        assert _count(runtime, "SELECT count(*) FROM bpo_shared_sends") == 0
        assert _count(runtime, "SELECT count(*) FROM audit_entries") == before
