"""The application under test, as the conformance suites drive it: a fresh database, the real
runtime and ASGI app, one organization with an API key per role, and helpers that speak only
HTTP (the JSON API, the public webhook and pages). Shared by test_guard_*.py and the
collection-side suites (test_collection_*.py).

Each Hypothesis example gets its own `ConformanceApp` (a fresh database copied from the
migrated template of tests/conftest.py), so examples never see each other's state.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from honorbound.accounts.roles import Role
from honorbound.api.app import create_app
from honorbound.config import Settings
from honorbound.consent.sms import HmacUrlParams, webhook_secret
from honorbound.runtime import Runtime, build_runtime
from tests.conftest import Tenant, make_tenant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
PG_URL = os.environ.get("HONORBOUND_TEST_DATABASE_URL", "")


def example_count(default: int) -> int:
    """Examples per conformance test: HONORBOUND_CONFORMANCE_EXAMPLES, else `default`."""
    raw = os.environ.get("HONORBOUND_CONFORMANCE_EXAMPLES", "")
    return int(raw) if raw.strip().isdigit() and int(raw) > 0 else default


class ConformanceApp:
    """One organization on a fresh database, driven through HTTP only."""

    def __init__(self, template: str, workdir: Path) -> None:
        self.workdir = workdir / uuid.uuid4().hex[:10]
        self.workdir.mkdir(parents=True)
        self._pg_name: str | None = None
        if PG_URL:
            self._pg_name = f"c_{uuid.uuid4().hex[:12]}"
            admin = create_engine(
                make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False),
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._pg_name}" TEMPLATE "{template}"'))
            admin.dispose()
            url = make_url(PG_URL).set(database=self._pg_name).render_as_string(hide_password=False)
        else:
            target = self.workdir / "honorbound.db"
            shutil.copy(template, target)
            url = f"sqlite:///{target}"
        self.settings = Settings(
            data_dir=self.workdir / "data",
            database_url=url,
            keystore_url=f"sqlite:///{self.workdir / 'keys.db'}",
            master_key=secrets.token_hex(32),
            base_url="http://testserver",
            secure_cookies=False,
        )
        self.runtime: Runtime = build_runtime(self.settings, immediate_jobs=True)
        self.client = TestClient(create_app(self.runtime))
        self.client.__enter__()
        self.tenant: Tenant = make_tenant(self.runtime, "conformance")
        self.headers = self.tenant.headers(Role.ADMIN)

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self.client.__exit__(None, None, None)
        self.runtime.close()
        if self._pg_name:
            admin = create_engine(
                make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False),
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the notice ---------------------------------------------------------------------------
    def adopt(self, yaml_text: str) -> tuple[int, dict[str, Any]]:
        """POST the declaration; (status, body)."""
        r = self.client.post(
            "/v1/policy/versions",
            content=yaml_text.encode(),
            headers={**self.headers, "Content-Type": "application/yaml"},
        )
        return r.status_code, r.json()

    # -- collection ---------------------------------------------------------------------------
    def subject(
        self,
        subject_type: str,
        identities: list[tuple[str, str]],
        jurisdiction: str | None,
        birth_date: dt.date | None,
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "type": subject_type,
            "identities": [{"kind": k, "value": v} for k, v in identities],
            "jurisdiction": jurisdiction,
        }
        if birth_date is not None:
            body["birth_date"] = birth_date.isoformat()
        r = self.client.post("/v1/subjects", json=body, headers=self.headers)
        return r.status_code, r.json()

    def record(
        self,
        subject_id: int,
        category: str,
        value: str,
        purposes: list[str],
        collected_at: dt.datetime | None = None,
        opt_in: bool | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "category": category,
            "value": value,
            "purposes": purposes,
            "source": "web_form",
        }
        if collected_at is not None:
            body["collected_at"] = collected_at.isoformat()
        if opt_in is not None:
            body["consent"] = {"opt_in": opt_in, "evidence": {"form": "conformance"}}
        r = self.client.post(f"/v1/subjects/{subject_id}/records", json=body, headers=self.headers)
        return r.status_code, r.json()

    def view(self, subject_id: int) -> tuple[int, dict[str, Any]]:
        r = self.client.get(f"/v1/subjects/{subject_id}", headers=self.headers)
        return r.status_code, r.json()

    # -- consent, on every channel ------------------------------------------------------------
    def event(
        self,
        identity: str,
        purpose: str,
        channel: str,
        action: str,
        source: str,
        scope: str = "",
    ) -> int:
        """A choice entered through the consent API (web form back end, staff, controller)."""
        r = self.client.post(
            "/v1/consent/events",
            json={
                "identity": identity,
                "purpose": purpose,
                "channel": channel,
                "action": action,
                "source": source,
                "scope": scope,
            },
            headers=self.headers,
        )
        return r.status_code

    def events(self, identity: str) -> list[tuple[int, tuple[str, str, str, str]]]:
        """The ledger's events for an identity: (id, (purpose, channel, scope, action))."""
        r = self.client.post(
            "/v1/consent/lookup", json={"identity": identity}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return [
            (e["id"], (e["purpose"], e["channel"], e["scope"], e["action"]))
            for e in r.json()["events"]
        ]

    def sms(self, sender: str, our_number: str, body: str) -> dict[str, Any]:
        """An inbound text through the public webhook, signed as the gateway signs."""
        url = f"http://testserver/v1/public/sms/{self.tenant.slug}"
        form = {"From": sender, "To": our_number, "Body": body, "MessageSid": uuid.uuid4().hex}
        check = HmacUrlParams(webhook_secret(self.runtime.keys, self.tenant.id))
        r = self.client.post(
            urlsplit(url).path, data=form, headers={check.header: check.expected(url, form)}
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def gpc(self, cookie_id: str, state: str | None) -> dict[str, Any]:
        r = self.client.post(
            f"/v1/public/consent/{self.tenant.slug}/gpc",
            json={"cookie_id": cookie_id, "state": state},
            headers={"Sec-GPC": "1"},
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def one_click(self, email: str, list_id: str) -> int:
        made = self.client.post(
            "/v1/consent/unsubscribe-links",
            json={"identity": email, "list_id": list_id},
            headers=self.headers,
        )
        assert made.status_code == 201, made.text
        path = urlsplit(made.json()["url"]).path
        return self.client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code

    def rights_request(self, request_type: str, state: str, email: str) -> dict[str, Any]:
        r = self.client.post(
            "/v1/requests",
            json={"type": request_type, "jurisdiction": state, "email": email, "manner": "phone"},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def sweep(self) -> int:
        return self.client.post("/v1/retention/sweep", headers=self.headers).status_code

    # -- what may be used, shared, contacted --------------------------------------------------
    def check(
        self,
        recipient: str | None,
        categories: list[str],
        purpose: str,
        subject_ids: list[int],
        basis: str | None = None,
    ) -> dict[str, Any]:
        r = self.client.post(
            "/v1/disclosures/check",
            json={
                "recipient": recipient,
                "categories": categories,
                "purpose": purpose,
                "subject_ids": subject_ids,
                "basis": basis,
            },
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def export(
        self, recipient: str, categories: list[str], purpose: str, subject_ids: list[int]
    ) -> tuple[int, str]:
        r = self.client.post(
            "/v1/disclosures/exports",
            json={
                "recipient": recipient,
                "categories": categories,
                "purpose": purpose,
                "subject_ids": subject_ids,
                "legal_reference": "Conformance subpoena 1",
            },
            headers=self.headers,
        )
        return r.status_code, r.text

    def contact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = self.client.post("/v1/contact-decisions", json={"items": items}, headers=self.headers)
        assert r.status_code == 200, r.text
        results: list[dict[str, Any]] = r.json()["results"]
        return results
