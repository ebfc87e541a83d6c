"""Abuse resistance and bad input on the public forms, through the real ASGI app."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from honorbound.audit import Actor
from honorbound.consent.models import ConsentEvent
from honorbound.ratelimit import LIMITS, DatabaseRateLimiter
from honorbound.runtime import Runtime
from honorbound.vault.identities import IdentityKind
from honorbound.vault.rules import CategoryRule, CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import Tenant
from tests.support.people import person


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _events(runtime: Runtime, tenant: Tenant) -> int:
    with runtime.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ConsentEvent)
                .where(ConsentEvent.organization_id == tenant.id)
            )
            or 0
        )


def _submit(client: TestClient, tenant: Tenant, **fields: str):  # type: ignore[no-untyped-def]
    url = f"/p/{tenant.slug}/choices"
    token = _token(client.get(url).text)
    data = {"csrf_token": token, "sale_sharing": "yes", **fields}
    return client.post(url, data=data)


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_honeypot_gets_the_same_answer_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    real = _submit(client, tenant, identity=person().email)
    trapped = _submit(client, tenant, identity=person().email, website="http://spam.invalid")
    assert real.status_code == trapped.status_code == 200
    assert _without_token(real.text) == _without_token(trapped.text)
    assert _events(runtime, tenant) == 2  # sale + sharing from the real one only


def test_known_and_unknown_people_get_identical_answers(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    known, unknown = person(), person()
    rules = CollectionRules(
        policy_version_id=None,
        categories={"user.contact.email": CategoryRule("user.contact.email", False, frozenset())},
        subject_types=frozenset({"customer"}),
        minimum_age=None,
    )
    with runtime.db.session() as session:
        upsert_subject(
            session,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, known.email)],
            Actor("test", "system"),
            rules,
        )
    a = _submit(client, tenant, identity=known.email)
    b = _submit(client, tenant, identity=unknown.email)
    assert a.status_code == b.status_code == 200
    assert _without_token(a.text) == _without_token(b.text)


def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    bad = _submit(client, tenant, identity="not an address or number")
    # Plain words, the field marked, what was typed (and ticked) kept.
    assert bad.status_code == 422 and "Check the email address or phone number" in bad.text
    assert "identity:" not in bad.text and 'value="not an address or number"' in bad.text
    assert 'name="sale_sharing" value="yes" checked' in bad.text
    assert re.search(r'name="identity"[^>]*aria-invalid="true"', bad.text)
    url = f"/p/{tenant.slug}/choices"
    token = _token(client.get(url).text)
    nothing = client.post(url, data={"csrf_token": token, "identity": person().email})
    assert nothing.status_code == 422 and "Tick at least one of the choices" in nothing.text
    forged = client.post(
        url, data={"csrf_token": "forged", "identity": person().email, "sale_sharing": "yes"}
    )
    assert forged.status_code == 403
    assert _events(runtime, tenant) == 0
    assert client.get("/p/nobody-here/choices").status_code == 404


def _small_limits(app: FastAPI, ip: int, identity: int) -> None:
    """The shipped limits are generous; tests drive the same (database) limiters with small
    ones."""
    runtime = app.state.runtime
    secret = runtime.keys.derived("web:rate-limit-keys")
    limits = runtime.rate_limits
    limits.override("ip", DatabaseRateLimiter(runtime.db, secret, "t.ip", ip, LIMITS["ip"][1]))
    limits.override(
        "identity",
        DatabaseRateLimiter(runtime.db, secret, "t.identity", identity, LIMITS["identity"][1]),
    )


def test_rate_limit_per_identity(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    allowed = 3
    _small_limits(app, ip=100, identity=allowed)
    someone = person()
    for _ in range(allowed):
        assert _submit(client, tenant, identity=someone.email).status_code == 200
    # The same person written differently is still the same person.
    refused = _submit(client, tenant, identity=someone.email.upper())
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert _events(runtime, tenant) == 2 * allowed
    assert _submit(client, tenant, identity=person().email).status_code == 200


def test_rate_limit_per_address(
    app: FastAPI, client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    allowed = 4
    _small_limits(app, ip=allowed, identity=100)
    for _ in range(allowed):
        assert _submit(client, tenant, identity=person().email).status_code == 200
    refused = _submit(client, tenant, identity=person().email)
    assert refused.status_code == 429
    assert "try again" in refused.text
    # In the portal's frame (it was a bare page): the organization's navigation is there.
    assert (
        'aria-label="Privacy portal"' in refused.text and "Make a privacy request" in refused.text
    )
    assert _events(runtime, tenant) == 2 * allowed


def _purposes(runtime: Runtime, tenant: Tenant, value: str) -> list[tuple[str, str]]:
    from honorbound.consent.identity import identify

    ref = identify(runtime.keys, tenant.id, value)
    with runtime.db.session() as session:
        rows = session.scalars(
            select(ConsentEvent).where(ConsentEvent.identity_index == ref.index)
        ).all()
    return sorted((e.purpose, e.source) for e in rows)


def test_gpc_where_no_law_requires_it_records_only_what_was_ticked(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    someone, other, unknown = person(), person(), person()
    headers = {"Sec-GPC": "1"}
    url = f"/p/{tenant.slug}/choices"
    token = _token(client.get(url, headers=headers).text)
    form = {"csrf_token": token, "limit_sensitive": "yes"}
    # Virginia's law is in force and does not require honoring the signal, and the notice does
    # not promise it: the signal has no legal effect to record.
    assert (
        client.post(
            url, data={**form, "identity": someone.email, "state": "VA"}, headers=headers
        ).status_code
        == 200
    )
    assert _purposes(runtime, tenant, someone.email) == [("sensitive_data_use", "web_form")]
    # No state given: the organization's default for an unknown state honors it (issue 19).
    client.post(url, data={**form, "identity": unknown.email}, headers=headers)
    assert ("sale", "gpc_signal") in _purposes(runtime, tenant, unknown.email)
    # Colorado's law makes it binding.
    client.post(url, data={**form, "identity": other.email, "state": "CO"}, headers=headers)
    assert _purposes(runtime, tenant, other.email) == [
        ("sale", "gpc_signal"),
        ("sensitive_data_use", "web_form"),
        ("sharing", "gpc_signal"),
        ("targeted_advertising", "gpc_signal"),
    ]
    bad = client.post(url, data={**form, "identity": other.email, "state": "ZZ"}, headers=headers)
    assert bad.status_code == 422 and "Choose the state where you live" in bad.text


def test_preference_center_refuses_unknown_choices_and_forged_forms(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    from honorbound.consent import links
    from honorbound.consent.identity import identify

    token = links.issue(
        runtime.keys, tenant.id, identify(runtime.keys, tenant.id, person().email), "preferences"
    )
    url = f"/p/{tenant.slug}/preferences/{token}"
    csrf = _token(client.get(url).text)
    unknown = client.post(url, data={"csrf_token": csrf, "marketing:fax": "yes"})
    assert unknown.status_code == 422 and "marketing:fax:" in unknown.text
    forged = client.post(url, data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.get(f"/p/{tenant.slug}/preferences/{token[:-2]}xx").status_code == 400
    assert client.get(f"/p/other-org/preferences/{token}").status_code == 404
    assert _events(runtime, tenant) == 0


def test_the_honored_gpc_line_speaks_the_pages_language(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> None:
    """11 CCR 7025(c)(6)'s "Opt-out request honored" on the choices page, in Spanish on a
    Spanish page (words from the contact rules' data, written out here)."""
    url = f"/p/{tenant.slug}/choices"
    for lang, expected, absent in (
        ("es", "Solicitud de exclusión respetada", "Opt-out request honored"),
        ("en", "Opt-out request honored", "Solicitud de exclusión respetada"),
    ):
        headers = {"Sec-GPC": "1", "Accept-Language": lang}
        token = _token(client.get(url, headers=headers).text)
        page = client.post(
            url, data={"csrf_token": token, "identity": person().email}, headers=headers
        ).text
        honored = re.search(r'id="gpc-honored">(.*?)</p>', page, re.S)
        assert honored, page[:500]
        assert expected in honored.group(1) and absent not in page
