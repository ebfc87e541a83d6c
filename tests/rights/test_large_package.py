"""A person with more records than the summary page shows: every record is still in data.json
and in the category's CSV (read back from the downloaded ZIP, not from the builder), and the
summary says where the rest are."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from honorbound.rights.package import SUMMARY_ROWS
from honorbound.runtime import Runtime
from honorbound.vault.collection import add_record
from honorbound.vault.rules import current_rules
from tests.conftest import Tenant
from tests.rights.conftest import ACTOR, download_access, seed
from tests.support.smtp import SmtpSink

EXTRA = SUMMARY_ROWS + 7


class _Cells(HTMLParser):
    """Text of every <td> on the page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "td":
            self._in, self.cells = True, [*self.cells, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.cells[-1] += data


def test_every_record_reaches_the_package_beyond_the_summary_page(
    api: TestClient, rt: Runtime, org: Tenant, smtp: SmtpSink
) -> None:
    s = seed(rt, org.id)
    p = s.person
    notes = [f'ticket note {i:05d} <b>&amp;</b>, "quoted"' for i in range(EXTRA)]
    with rt.db.session() as session:
        rules = current_rules(session, org.id, rt.rules)
        assert rules is not None
        for note in notes:
            add_record(session, rt.vault_keys, org.id, s.subject_id, "user.contact.address",
                       note, ["contracted-services"], "directly", ACTOR, rules)  # fmt: skip
    archive = download_access(api, org, smtp, p)

    data = json.loads(archive.read("data.json"))
    (address,) = [c for c in data["categories"] if c["category"] == "user.contact.address"]
    values = [r["value"] for r in address["records"]]
    assert address["count"] == EXTRA + 1 == len(values)
    assert set(notes) < set(values) and p.street in values

    rows = list(csv.DictReader(io.StringIO(archive.read("categories/user.contact.address.csv")
                                           .decode())))  # fmt: skip
    assert sorted(r["value"] for r in rows) == sorted(values)
    assert all(r["purposes"] == "contracted-services" and r["recipients"] is not None for r in rows)

    summary = archive.read("summary.html").decode()
    cells = _Cells()
    cells.feed(summary)
    shown = [c for c in cells.cells if c.startswith("ticket note") or c == p.street]
    assert len(shown) == SUMMARY_ROWS
    assert set(shown) <= set(values)  # escaped on the page, the same text once parsed
    assert f"The first {SUMMARY_ROWS} of {EXTRA + 1} items" in " ".join(summary.split())
    assert "categories/user.contact.address.csv" in summary
    assert "..</p>" not in summary  # a retention sentence ending in a period gets no second
