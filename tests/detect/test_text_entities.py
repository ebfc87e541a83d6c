"""Emails, dates, addresses, people, named identifiers, IBAN, IP and the two intents."""

from __future__ import annotations

from honorbound.detect import scan
from tests.detect.conftest import Fakes
from tests.support.people import person, remember


def types(text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in scan(text)]


def test_email_written_and_spoken(fakes: Fakes) -> None:
    email = fakes.email()
    assert types(f"send it to {email}, please") == [("EMAIL_ADDRESS", email)]
    local, domain = email.split("@")
    spoken = f"{local.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}"
    remember(spoken)
    assert types(f"my email is {spoken} thanks") == [("EMAIL_ADDRESS", spoken)]
    assert types("meet me at home dot") == []
    # Speech-to-text capitalises and breaks lines anywhere: "At" and a line break still count.
    capitalised = spoken.replace(" at ", " At ", 1)
    assert types(f"it's {capitalised}") == [("EMAIL_ADDRESS", capitalised)]
    split = spoken.replace(" at ", "\tat\n", 1)
    assert types(f"it's {split}") == [("EMAIL_ADDRESS", split)]


def test_dates_of_birth_and_other_dates() -> None:
    assert types("date of birth 03/14/1985") == [("DATE_OF_BIRTH", "03/14/1985")]
    assert types("I was born on March 14th, 1985") == [("DATE_OF_BIRTH", "March 14th, 1985")]
    assert types("born january fifth nineteen eighty two") == [
        ("DATE_OF_BIRTH", "january fifth nineteen eighty two")
    ]
    assert types("dob is oh three one four one nine eight five") == [
        ("DATE_OF_BIRTH", "oh three one four one nine eight five")
    ]
    assert types("the meeting is on 2026-11-24") == [("DATE_TIME", "2026-11-24")]
    # A timestamp with a time used to crash the date check.
    assert types("logged 2026-11-20T10:00:00") == [("DATE_TIME", "2026-11-20T10:00:00")]
    assert types("version 13.45.2020 shipped") == []


def test_street_addresses() -> None:
    p = person()
    found = types(f"I live at {p.street}, thanks")
    assert found == [("STREET_ADDRESS", p.street)]
    assert types("it's 1234 Oak Street, Springfield, IL 62704 ok") == [
        ("STREET_ADDRESS", "1234 Oak Street, Springfield, IL 62704")
    ]
    assert types("we paid 20 dollars at the mall") == []
    assert types("I have 3 Points to make") == []


def test_people(fakes: Fakes) -> None:
    first, last = fakes.first_last()
    assert types(f"hi, my name is {first} {last} and I'm calling") == [
        ("PERSON", f"{first} {last}")
    ]
    assert types(f"my name is {first.lower()} {last.lower()}") == [
        ("PERSON", f"{first.lower()} {last.lower()}")
    ]
    assert types(f"Thank you for calling Acme, you're speaking with {first}.") == [
        ("PERSON", first)
    ]
    assert types(f"Dr. {last} will see you") == [("PERSON", f"Dr. {last}")]
    assert types(f"The claim was filed by {first} {last} yesterday") == [
        ("PERSON", f"{first} {last}")
    ]
    assert types("last name, spelled S M I T H") == [("PERSON", "S M I T H")]
    assert types("Thank You for calling Main Street Bank") == []
    assert types("this is not going to work") == []


def test_identifiers_named_by_context() -> None:
    assert types("my driver's license is D1234567") == [("US_DRIVER_LICENSE", "D1234567")]
    assert types("passport number 912803456") == [("US_PASSPORT", "912803456")]
    assert types("member id XJH4429183 on the card") == [("MEDICAL_RECORD", "XJH4429183")]
    assert types("medical record number 00482913") == [("MEDICAL_RECORD", "00482913")]
    assert types("D1234567") == []


def test_iban_and_ip() -> None:
    assert types("IBAN DE89 3704 0044 0532 0130 00 please") == [
        ("IBAN_CODE", "DE89 3704 0044 0532 0130 00")
    ]
    assert types("IBAN DE89 3704 0044 0532 0130 01") == []
    assert types("from 192.168.10.20 and 2001:db8::8a2e:370:7334") == [
        ("IP_ADDRESS", "192.168.10.20"),
        ("IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    ]
    assert types("version 999.1.2.3 at 10:30:00") == []


def test_opt_out_and_rights_requests() -> None:
    for text in (
        "please stop calling me",
        "take me off your list",
        "don't text me again",
        "put me on the do not call list",
        "no más llamadas por favor",
        "dejen de llamarme",
    ):
        assert [f.type for f in scan(text)] == ["OPT_OUT_REQUEST"], text
    for text in (
        "I want you to delete my information",
        "I want a copy of my data",
        "what data do you have on me",
        "do not sell my personal information",
        "quiero que borren mis datos",
    ):
        assert [f.type for f in scan(text)] == ["RIGHTS_REQUEST"], text
    text = "stop calling me, and delete my data"
    found = scan(text)
    assert [(f.type, text[f.start : f.end]) for f in found] == [
        ("OPT_OUT_REQUEST", "stop calling me"),
        ("RIGHTS_REQUEST", "delete my data"),
    ]
    assert scan("I'll call you back after I stop by the store") == []
