"""Issue 14, defect 2: a birth date said or written in words in collected text counts for the
minimum age like a date-of-birth record, and the contact decision's `minor` reason reads it.

The oracle spells the dates itself (its own number words, English and Spanish month names)
and computes ages by calendar arithmetic; it never calls the detector's date reader.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from _pytest.monkeypatch import MonkeyPatch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from honorbound.accounts.roles import Role
from honorbound.consent import decisions
from honorbound.runtime import Runtime
from honorbound.vault.models import Identity, Interaction, Subject
from honorbound.vault.screening import screen
from tests.conftest import adopt_example, make_tenant
from tests.consent.conftest import decide, reasons
from tests.support.people import person, remember

MONTHS_EN = "january february march april may june july august september october november december"
MONTHS_ES = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
ONES += "fifteen sixteen seventeen eighteen nineteen"
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety"
ORD = "_ first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
ORD += "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
MINIMUM_AGE = 16  # contact-center-1-2024 declares minimum_age: 16
TODAY = dt.datetime.now(dt.UTC).date()


def _below_100(n: int) -> str:
    if n < 20:
        return ONES.split()[n]
    tens, unit = divmod(n, 10)
    return TENS.split()[tens] + (f" {ONES.split()[unit]}" if unit else "")


def _cardinal_day(d: int) -> str:
    return _below_100(d)


def _ordinal_day(d: int) -> str:
    if d <= 20:
        return ORD.split()[d]
    if d == 30:
        return "thirtieth"
    tens, unit = divmod(d, 10)
    return f"{TENS.split()[tens]} {ORD.split()[unit]}"


def _year_words(y: int, variant: int) -> str:
    if 2000 <= y <= 2009 or (y >= 2010 and variant % 2):
        rest = y - 2000
        return "two thousand" + (f" {_below_100(rest)}" if rest else "")
    head, tail = divmod(y, 100)
    spoken = f"oh {ONES.split()[tail]}" if tail < 10 else _below_100(tail)
    return f"{_below_100(head)} {spoken}"


def _suffix(d: int) -> str:
    return "th" if 11 <= d <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def phrase(born: dt.date, form: int, variant: int) -> str:
    """One way people say or write a birth date (the detector's forms, spelled here)."""
    month_en = MONTHS_EN.split()[born.month - 1]
    d, y = born.day, born.year
    forms = [
        f"my date of birth is {month_en} {_cardinal_day(d)} {_year_words(y, variant)}",
        f"I was born on the {d}{_suffix(d)} of {month_en} {y}",
        f"dob is {month_en} {_ordinal_day(d)} {_year_words(y, variant)}",
        f"fecha de nacimiento {d} de {MONTHS_ES.split()[born.month - 1]} de {y}",
        f"my birthday is {month_en.capitalize()} {d}, {y}",
        f"date of birth {born.month:02d}/{d:02d}/{y}",
        f"I was born on the {_ordinal_day(d)} of {month_en} {_year_words(y, variant)}",
    ]
    return forms[form % len(forms)]


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


births = st.builds(
    lambda age, days: TODAY.replace(year=TODAY.year - age, day=1) - dt.timedelta(days=days),
    st.integers(min_value=2, max_value=95),
    st.integers(min_value=0, max_value=400),
)


@settings(max_examples=300, deadline=None)
@given(born=births, form=st.integers(0, 6), variant=st.integers(0, 1))
def test_every_phrasing_of_a_birth_date_is_read_as_that_date(
    born: dt.date, form: int, variant: int
) -> None:
    said = phrase(born, form, variant)
    assert screen(said, keep_original=False).birth_dates == (born,), said


def test_the_examples_named_in_the_issue_are_read() -> None:
    cases = {
        "born october fifteen nineteen sixty eight": dt.date(1968, 10, 15),
        "I was born on the 3rd of may 2014": dt.date(2014, 5, 3),
        "fecha de nacimiento 15 de octubre de 1968": dt.date(1968, 10, 15),
        "nací el 3 de mayo del 2014": dt.date(2014, 5, 3),
        "born october twenty two thousand eight": dt.date(2008, 10, 20),
    }
    for said, born in cases.items():
        assert screen(said, keep_original=False).birth_dates == (born,), said


_slugs = itertools.count()


def _post_text(client: TestClient, headers: dict[str, str], sid: int, text: str) -> Any:
    return client.post(
        f"/v1/subjects/{sid}/interactions",
        json={
            "channel": "chat",
            "direction": "inbound",
            "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "text": text,
        },
        headers=headers,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(born=births, form=st.integers(0, 6), variant=st.integers(0, 1))
@example(born=TODAY.replace(year=TODAY.year - 12, day=1), form=0, variant=0)
@example(born=TODAY.replace(year=TODAY.year - 17, day=1), form=3, variant=0)
@example(born=TODAY.replace(year=TODAY.year - 13, day=1), form=6, variant=1)
@example(born=TODAY.replace(year=TODAY.year - 16, day=1), form=1, variant=0)
@example(born=TODAY.replace(year=TODAY.year - 58, day=1), form=0, variant=0)
def test_a_child_named_by_a_spoken_birth_date_is_refused_and_a_teen_is_a_minor(
    client: TestClient,
    runtime: Runtime,
    monkeypatch: MonkeyPatch,
    born: dt.date,
    form: int,
    variant: int,
) -> None:
    monkeypatch.setattr(decisions.snapshots, "SUBJECT_SCAN_EVERY", dt.timedelta(0))
    tenant = make_tenant(runtime, f"dob-{next(_slugs)}")
    adopt_example(runtime, tenant.id, "contact-center-1-2024")
    headers = tenant.headers(Role.AGENT)
    who = person()
    created = client.post(
        "/v1/subjects",
        json={
            "type": "user",
            "jurisdiction": "DE",
            "identities": [{"kind": "email", "value": who.email}],
        },
        headers=headers,
    )
    assert created.status_code in (200, 201), created.text
    sid = int(created.json()["id"])
    said = phrase(born, form, variant)
    remember(said)
    response = _post_text(client, headers, sid, said)
    age = _age(born, dt.datetime.now(dt.UTC).date())
    with runtime.db.session() as session:
        subject = session.get(Subject, sid)
        assert subject is not None
        stored = session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.subject_id == sid)
        )
        identities = session.scalar(
            select(func.count()).select_from(Identity).where(Identity.subject_id == sid)
        )
        status = subject.status
    if age < MINIMUM_AGE:
        assert response.status_code == 422, (age, said, response.text)
        problem = response.json()
        assert (problem["rule"], problem["errors"][0]["field"]) == ("minimum_age", "body.text")
        assert said not in response.text and born.isoformat() not in response.text
        assert (status, stored, identities) == ("erased", 0, 0)
        return
    assert response.status_code == 201, (age, said, response.text)
    assert status == "active" and stored == 1
    # Delaware: 13-17 need an opt-in for sale; an adult has no `minor` reason.
    got = reasons(decide(runtime, tenant.id, [who.email], "sale", "email"))
    assert (got == [("minor",)]) == (age < 18), (age, said, got)


@pytest.mark.parametrize(
    "value",
    ["october fifteen nineteen sixty eight", "15 de octubre de 1968", "the 3rd of may 2014"],
)
def test_a_birth_date_record_in_words_is_read_too(
    client: TestClient, runtime: Runtime, value: str
) -> None:
    tenant = make_tenant(runtime, "dob-record")
    adopt_example(runtime, tenant.id, "contact-center-1-2024")
    headers = tenant.headers(Role.AGENT)
    created = client.post(
        "/v1/subjects",
        json={"type": "user", "identities": [{"kind": "email", "value": person().email}]},
        headers=headers,
    )
    sid = int(created.json()["id"])
    response = client.post(
        f"/v1/subjects/{sid}/records",
        json={
            "category": "user.demographic.date_of_birth",
            "value": value,
            "purposes": ["support"],
            "source": "call",
        },
        headers=headers,
    )
    if "2014" in value:  # 12 years old under a 16+ notice
        assert response.status_code == 422 and response.json()["rule"] == "minimum_age"
    else:
        assert response.status_code == 201, response.text


def test_the_date_reader_knows_every_word_the_date_pattern_matches() -> None:
    """The detector's date pattern and its date reader share no table: every month and day
    word the pattern can match must be one the reader knows."""
    import re

    from honorbound.detect import dates, patterns

    assert set(patterns._MONTHS.split("|")) <= set(dates.MONTHS)
    day_words = set(re.findall(r"[a-z]+", patterns._ORDINAL_WORDS + "|" + patterns._CARDINAL_DAYS))
    assert day_words <= set(dates.ORDINALS) | set(dates.CARDINALS) | set(dates.TENS)
