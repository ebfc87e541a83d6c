"""Malformed input on every breach entry point, generated rather than hand-picked: the domain
functions the API and the CLI both call (Hypothesis over every field's type and range: text
with control characters and lone surrogates, dates at the ends of the calendar, ISO strings
that are not, wrong types), the JSON API (bodies that are not JSON, not UTF-8, too large, nested
too deep, or JSON with the wrong shapes) and the command line (bad dates, non-UTF-8 arguments,
ids out of range). Each answer is a sentence naming the field (422/413/400 problem, or exit 2),
never a 500 or a traceback, and nothing is written: the incidents, their selections, notices
and the audit chain are counted before and after (SQL, not the code under test).

The console has no breach forms (its pages only read) and there is no file import of affected
people (they are selected from the vault, the disclosure ledger and connected systems), so those
two entry points do not exist to be tried."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from honorbound.accounts.roles import Role
from honorbound.audit import Actor
from honorbound.breach import incidents, selection
from honorbound.breach.errors import BreachInputError, SelectionEmpty
from honorbound.cli import app as cli
from honorbound.config import Settings
from honorbound.runtime import Runtime
from tests.breach.conftest import resident
from tests.conftest import Tenant

ACTOR = Actor("test", "privacy_officer")
GOOD: dict[str, Any] = {
    "title": "Laptop stolen",
    "discovered_at": "2026-11-02T15:00:00Z",
    "owner": "Privacy Office",
    "categories": ["user.contact"],
}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text a client can send: every plane, control characters, NUL, lone surrogates.
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=300),
    # The characters that break storage or display, drawn often (Hypothesis draws them rarely):
    # a lone surrogate (not encodable as UTF-8), NUL (refused by PostgreSQL), other controls,
    # a right-to-left override.
    st.text(st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b", "\u202e", "a", " "]), min_size=1),
)
any_time = st.one_of(
    st.none(),
    any_text,
    st.datetimes(timezones=st.timezones() | st.none()),
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(1, 1, 3),
        timezones=st.sampled_from([dt.timezone(dt.timedelta(hours=h)) for h in (-12, 0, 14)]),
    ),  # fmt: skip
    st.datetimes(
        min_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC]),
    ).map(lambda d: d.isoformat()),  # fmt: skip
    st.integers(),
    st.floats(),
)
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
INCIDENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "title": st.one_of(any_text, anything),
    "description": any_text,
    "owner": st.one_of(any_text, anything),
    "contact": any_text,
    "discovered_at": any_time,
    "occurred_from": any_time,
    "occurred_to": any_time,
    "systems": st.one_of(st.lists(any_text, max_size=5), anything),
    "categories": st.lists(any_text, max_size=5),
    "clients": st.lists(any_text, max_size=5),
    "encrypted": anything,
    "key_compromised": st.booleans(),
    "status": st.one_of(any_text, st.sampled_from(["open", "closed", "notifying"])),
}
# A good incident with one to three fields changed, so generated values reach every check and
# the database, not only the first check that refuses them.
incident_values = st.sets(st.sampled_from(sorted(INCIDENT_FIELDS)), min_size=1, max_size=3).flatmap(
    lambda names: st.fixed_dictionaries({n: INCIDENT_FIELDS[n] for n in names}).map(
        lambda change: {**GOOD, **change}
    )
)
selection_values = st.fixed_dictionaries(
    {},
    optional={
        "categories": st.one_of(
            st.lists(st.sampled_from(["user.contact", "user", "user.biometric"]) | any_text),
            anything,
        ),
        "systems": st.lists(any_text, max_size=3),
        "channels": st.lists(st.sampled_from(["call", "chat", "pigeon"]) | any_text, max_size=3),
        "recipients": st.lists(any_text, max_size=3),
        "window_from": any_time,
        "window_to": any_time,
    },
)


def counts(rt: Runtime) -> dict[str, int]:
    with rt.db.session() as session:
        return {
            t: int(session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("breach_incidents", "breach_affected", "breach_notices", "audit_entries")
        }


_INCIDENTS: dict[str, int] = {}


def _incident_once(rt: Runtime, org: Tenant) -> int:
    """One resident and one incident per runtime (Hypothesis runs every example of a test
    with the same fixtures)."""
    db = rt.settings.database_url  # one database per test
    if db not in _INCIDENTS:
        resident(rt, org.id, "NY")
        with rt.db.session() as session:
            _INCIDENTS[db] = incidents.create_incident(session, org.id, GOOD, ACTOR).id
    return _INCIDENTS[db]


def _sentence(exc: BreachInputError) -> None:
    assert exc.field and exc.message and len(str(exc)) < 300
    assert "\x00" not in str(exc)


@FUZZ
@given(values=incident_values)
def test_any_incident_is_recorded_or_refused_with_a_sentence(
    rt: Runtime, org: Tenant, values: dict[str, Any]
) -> None:
    before = counts(rt)
    try:
        with rt.db.session() as session:
            found = incidents.create_incident(session, org.id, values, ACTOR)
            iid = found.id
    except BreachInputError as exc:
        _sentence(exc)
        assert counts(rt) == before
        return
    after = counts(rt)
    assert after["breach_incidents"] == before["breach_incidents"] + 1
    assert after["audit_entries"] == before["audit_entries"] + 1
    # A recorded incident reads back and its deadlines compute (every later step needs them).
    from honorbound.breach import report

    with rt.db.session() as session:
        report.summary(session, rt.rules, org.id, iid)


@FUZZ
@given(values=selection_values)
def test_any_selection_selects_or_is_refused_with_a_sentence(
    rt: Runtime, org: Tenant, values: dict[str, Any]
) -> None:
    iid = _incident_once(rt, org)
    before = counts(rt)
    try:
        with rt.db.session() as session:
            c = selection.criteria(values)
            selection.select_affected(session, org.id, iid, c, ACTOR, rt.vault_keys)
    except SelectionEmpty:
        assert counts(rt) == before
        return
    except BreachInputError as exc:
        _sentence(exc)
        assert counts(rt) == before
        return
    assert counts(rt)["audit_entries"] == before["audit_entries"] + 1


def _problem(r: Any, statuses: tuple[int, ...]) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body.get("detail") or body.get("errors"), body
    return dict(body)


json_bodies = st.one_of(
    incident_values,
    st.dictionaries(any_text, anything, max_size=4),
    anything,
)


@FUZZ
@given(body=json_bodies)
def test_the_api_answers_any_json_with_201_or_a_problem(
    rt: Runtime, api: TestClient, org: Tenant, body: Any
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    before = counts(rt)
    # json.dumps writes a lone surrogate as the escape \\ud800, which is valid JSON.
    raw = json.dumps(body, default=str).encode()
    r = api.post("/v1/breach/incidents", headers={**h, "content-type": "application/json"},
                 content=raw)  # fmt: skip
    if r.status_code == 201:
        assert counts(rt)["breach_incidents"] == before["breach_incidents"] + 1
        return
    _problem(r, (422,))
    assert counts(rt) == before


@pytest.mark.parametrize(
    ("raw", "status", "needle"),
    [
        (b"\xff\xfe{\x00}\x00", 400, "not valid UTF-8"),  # UTF-16 with a byte-order mark
        (b'{"title": "caf\xe9"}', 400, "Byte 14 of the body is not valid UTF-8"),  # Latin-1
        (b'{"title": ', 400, "not valid JSON"),  # cut short
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (b"", 422, "body"),
    ],
)
def test_bodies_that_are_not_json_are_refused_and_change_nothing(
    rt: Runtime, api: TestClient, org: Tenant, raw: bytes, status: int, needle: str
) -> None:
    before = counts(rt)
    h = {**org.headers(Role.PRIVACY_OFFICER), "content-type": "application/json"}
    for url in ("/v1/breach/incidents",):
        body = _problem(api.post(url, headers=h, content=raw), (status,))
        assert needle in json.dumps(body)
    assert counts(rt) == before


def test_a_huge_body_is_413_before_it_is_read(rt: Runtime, api: TestClient, org: Tenant) -> None:
    before = counts(rt)
    limit = rt.settings.max_body_bytes
    h = {**org.headers(Role.PRIVACY_OFFICER), "content-type": "application/json"}
    big = json.dumps({**GOOD, "description": "x" * (limit + 10)}).encode()
    _problem(api.post("/v1/breach/incidents", headers=h, content=big), (413,))
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    mid = counts(rt)
    sel = json.dumps({"categories": ["user.contact"] * (limit // 10)}).encode()
    _problem(api.post(f"/v1/breach/incidents/{iid}/selection", headers=h, content=sel), (413,))
    assert counts(rt) == mid and mid["breach_incidents"] == before["breach_incidents"] + 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"discovered_at": "0001-01-01T00:00:00+14:00"}, "outside the calendar"),
        ({"discovered_at": "1969-12-31T23:59:59Z"}, "before 1970"),
        ({"discovered_at": "2026-02-30T10:00:00Z"}, "discovered_at"),
        ({"discovered_at": "2026-11-02T25:00:00Z"}, "discovered_at"),
        # pydantic refuses a lone surrogate from JSON before the domain sees it.
        ({"title": "Laptop \ud800 stolen"}, "body.title"),
        ({"owner": "Privacy\x00Office"}, "control character"),
        ({"systems": ["crm\x1b[31m"]}, "control character"),
        ({"status": "archived"}, "status"),
    ],
)
def test_bad_dates_and_text_name_the_field(
    rt: Runtime, api: TestClient, org: Tenant, body: dict[str, Any], needle: str
) -> None:
    before = counts(rt)
    h = {**org.headers(Role.PRIVACY_OFFICER), "content-type": "application/json"}
    raw = json.dumps({**GOOD, **body}).encode()
    got = _problem(api.post("/v1/breach/incidents", headers=h, content=raw), (422,))
    assert needle in json.dumps(got), got
    assert counts(rt) == before


def test_selection_windows_and_names_at_the_edges(rt: Runtime, api: TestClient, org: Tenant):
    resident(rt, org.id, "NY")
    h = org.headers(Role.PRIVACY_OFFICER)
    iid = api.post("/v1/breach/incidents", headers=h, json=GOOD).json()["id"]
    url = f"/v1/breach/incidents/{iid}/selection"
    good = api.post(url, headers=h, json={"categories": ["user.contact"]})
    assert good.status_code == 200, good.text
    before = counts(rt)
    for body, needle in [
        ({"categories": ["user.contact"], "window_to": "9999-12-31T23:59:59-01:00"}, "calendar"),
        ({"categories": ["user.contact"], "window_from": "not a date"}, "window_from"),
        ({"categories": ["user.contact"], "window_from": "2026-11-02T00:00:00"}, "time zone"),
        ({"categories": ["user.\ud800"]}, "body.categories[0]"),
        ({"categories": "user.contact"}, "categories"),
        ({"channels": ["call", 7]}, "channels"),
        ({"states": ["ZZ"]}, "states"),
    ]:
        raw = json.dumps(body).encode()
        got = _problem(
            api.post(url, headers={**h, "content-type": "application/json"}, content=raw),
            (422,),
        )
        assert needle in json.dumps(got), (body, got)
    assert counts(rt) == before  # the earlier selection stands, nothing else was written


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir", "base_url"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--discovered-at", "yesterday"], "--discovered-at"),
        (["--discovered-at", "0001-01-01T00:00:00+14:00"], "outside the calendar"),
        (["--discovered-at", "1900-01-01T00:00:00Z"], "before 1970"),
        (["--discovered-at", "2026-11-02T15:00:00Z", "--occurred-from", "x" * 10_000],
         "--occurred-from"),
        # A non-UTF-8 byte in an argument reaches Python as a lone surrogate (surrogateescape).
        (["--discovered-at", "2026-11-02T15:00:00Z", "--title", "Laptop \udcff"], "--title"),
        (["--discovered-at", "2026-11-02T15:00:00Z", "--system", "crm\x00"], "--systems"),
    ],
)  # fmt: skip
def test_the_cli_refuses_with_a_sentence_and_records_nothing(
    rt: Runtime, org: Tenant, cli_env: CliRunner, args: list[str], needle: str
) -> None:
    before = counts(rt)
    base = ["breach", "record", "--owner", "Privacy Office", "--org", org.slug]
    if "--title" not in args:
        base += ["--title", "Phishing"]
    r = cli_env.invoke(cli, [*base, *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output, r.output
    assert counts(rt) == before


def test_the_cli_selection_refuses_bad_input(rt: Runtime, org: Tenant, cli_env: CliRunner):
    resident(rt, org.id, "NY")
    with rt.db.session() as session:
        iid = incidents.create_incident(session, org.id, GOOD, ACTOR).id
    before = counts(rt)
    for args, needle in [
        ([str(iid), "--category", "user.contact", "--window-to", "someday"], "--window-to"),
        ([str(iid), "--channel", "pigeon"], "pigeon"),
        ([str(iid), "--category", "user.biometric"], "matches nobody"),
        ([str(2**70), "--category", "user.contact"], "incident"),
    ]:
        r = cli_env.invoke(cli, ["breach", "select", *args, "--org", org.slug])
        assert r.exit_code == 2, (args, r.output)
        assert needle in r.output and "Traceback" not in r.output, (args, r.output)
    assert counts(rt) == before


@FUZZ
@given(body=st.one_of(selection_values, st.dictionaries(any_text, anything, max_size=3)))
def test_the_selection_api_answers_any_json_with_200_or_a_problem(
    rt: Runtime, api: TestClient, org: Tenant, body: Any
) -> None:
    h = org.headers(Role.PRIVACY_OFFICER)
    url = f"/v1/breach/incidents/{_incident_once(rt, org)}"
    before = counts(rt)
    raw = json.dumps(body, default=str).encode()
    r = api.post(f"{url}/selection", headers={**h, "content-type": "application/json"},
                 content=raw)  # fmt: skip
    if r.status_code == 200:
        assert counts(rt)["audit_entries"] == before["audit_entries"] + 1
        return
    _problem(r, (422,))
    assert counts(rt) == before
    # Sending notices with a body of any shape: a problem or the notices, never a 500.
    n = api.post(f"{url}/notices", headers={**h, "content-type": "application/json"},
                 content=raw)  # fmt: skip
    assert n.status_code in (200, 422), n.text[:300]
