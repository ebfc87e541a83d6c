"""Every kind of tampering still fails verification, naming the first bad entry, now that the
walk hashes the stored strings as they are (issue 22): one changed character in each column of
one entry, a deleted entry, a swapped pair (by seq, by row id), and a truncated tail (found
against an anchor). Checked through `verify_chain(full=True)`, what the API, the console, the
CLI and the jobs call, in batches smaller than the chain so an edit can sit on either side of
a batch boundary, on whichever database the suite runs on. The entries are plain ASCII with
compact details, so the walk's shortcut is what meets them (checked: it accepts every intact
entry without the long way)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from honorbound.audit import Actor, append, chain
from honorbound.audit.anchors import check, load_or_create_key, signed_heads
from honorbound.audit.checkpoints import verify_chain
from honorbound.runtime import Runtime
from tests.conftest import Tenant

N = 12  # entries added by the test
K = 7  # the entry tampered with (seq offset from the first added)
BATCH = 5


def _fill(runtime: Runtime, org: int) -> int:
    """N entries; returns the seq of the first."""
    with runtime.db.session() as session:
        first = None
        for i in range(N):
            entry = append(
                session, org, Actor(f"user:{i + 1}", "admin"), "test.action", "thing",
                f"obj-{i}", {"index": 10 + i, "rule": "keep-6y"},
            )  # fmt: skip
            first = first or entry.seq
    assert first is not None
    return first


def _sql(runtime: Runtime, sql: str, **params: Any) -> Any:
    with runtime.db.session() as session:
        return session.execute(text(sql), params)


def _row(runtime: Runtime, org: int, seq: int) -> Any:
    with runtime.db.session() as session:
        return session.execute(
            text("SELECT * FROM audit_entries WHERE organization_id = :o AND seq = :s"),
            {"o": org, "s": seq},
        ).one()


def _flip(value: str) -> str:
    """The same text with its last character changed (a digit to another digit)."""
    last = value[-1]
    changed = str((int(last) + 1) % 10) if last.isdigit() else chr(ord(last) ^ 1)
    return value[:-1] + changed


def _problem(runtime: Runtime, org: int) -> str | None:
    return verify_chain(runtime.db, org, full=True, batch=BATCH).problem


def _named(problem: str | None, org: int, seq: int, reason: str) -> None:
    assert problem is not None, "tampering not found"
    assert f"organization {org}, entry seq {seq} " in problem, problem
    assert reason in problem, problem


def test_the_shortcut_accepts_every_intact_entry(
    runtime: Runtime, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _fill(runtime, tenant.id)
    long_way: list[int] = []
    original = chain._problem

    def counted(org: int, row: Any, *args: Any) -> str | None:
        long_way.append(row[1])
        return original(org, row, *args)

    monkeypatch.setattr(chain, "_problem", counted)
    status = verify_chain(runtime.db, tenant.id, full=True, batch=BATCH)
    assert status.ok and status.through_seq == first + N - 1
    assert [s for s in long_way if s >= first] == []


TEXT_COLUMNS = ["actor", "role", "action", "object_type", "object_id", "prev_hash", "hash"]


@pytest.mark.parametrize("column", TEXT_COLUMNS)
def test_one_changed_character_in_a_text_column(
    runtime: Runtime, tenant: Tenant, column: str
) -> None:
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    value = getattr(_row(runtime, org, seq), column)
    _sql(runtime, f"UPDATE audit_entries SET {column} = :v WHERE organization_id = :o AND seq = :s",
         v=_flip(value), o=org, s=seq)  # fmt: skip
    reason = "does not link" if column == "prev_hash" else "hash does not match its content"
    _named(_problem(runtime, org), org, seq, reason)


def test_one_changed_character_in_details(runtime: Runtime, tenant: Tenant) -> None:
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    stored = _sql(runtime, "SELECT details FROM audit_entries WHERE organization_id = :o AND "
                  "seq = :s", o=org, s=seq).scalar_one()  # fmt: skip
    if not isinstance(stored, str):  # PostgreSQL's driver parses json: write it back as text
        stored = json.dumps(stored, separators=(",", ":"))
    position = stored.index("1")  # a digit of "index": still JSON, another value
    edited = stored[:position] + "2" + stored[position + 1 :]
    _sql(runtime, "UPDATE audit_entries SET details = :d WHERE organization_id = :o AND seq = :s",
         d=edited, o=org, s=seq)  # fmt: skip
    _named(_problem(runtime, org), org, seq, "hash does not match its content")


def test_one_microsecond_more_in_at(runtime: Runtime, tenant: Tenant) -> None:
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    if runtime.db.dialect == "postgresql":
        change = "at = at + interval '1 microsecond'"
        _sql(runtime, f"UPDATE audit_entries SET {change} WHERE organization_id = :o AND seq = :s",
             o=org, s=seq)  # fmt: skip
    else:  # the stored text, one character changed
        value = _row(runtime, org, seq).at
        _sql(runtime, "UPDATE audit_entries SET at = :v WHERE organization_id = :o AND seq = :s",
             v=_flip(value), o=org, s=seq)  # fmt: skip
    _named(_problem(runtime, org), org, seq, "hash does not match its content")


def test_a_changed_seq_organization_or_row_id(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The integer columns: a seq moved away or an entry moved to another organization leaves
    a gap at the next entry; a row id moved past the next one is storage out of order."""
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    where = "WHERE organization_id = :o AND seq = :s"
    _sql(runtime, f"UPDATE audit_entries SET seq = seq + 1000 {where}", o=org, s=seq)
    _named(_problem(runtime, org), org, seq + 1, f"entries {seq}..{seq} are missing")
    _sql(runtime, f"UPDATE audit_entries SET seq = seq - 1000 {where}", o=org, s=seq + 1000)
    assert _problem(runtime, org) is None  # put back: intact again

    other = other_tenant.id
    _sql(runtime, f"UPDATE audit_entries SET organization_id = :x {where}", x=other, o=org, s=seq)
    _named(_problem(runtime, org), org, seq + 1, f"entries {seq}..{seq} are missing")
    _sql(runtime, "UPDATE audit_entries SET organization_id = :o WHERE organization_id = :x "
         "AND seq = :s", x=other, o=org, s=seq)  # fmt: skip
    assert _problem(runtime, org) is None

    top = _sql(runtime, "SELECT max(id) FROM audit_entries").scalar_one()
    _sql(runtime, f"UPDATE audit_entries SET id = :i {where}", i=top + 100, o=org, s=seq)
    _named(_problem(runtime, org), org, seq + 1, "stored out of order")


def test_a_deleted_entry(runtime: Runtime, tenant: Tenant) -> None:
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    _sql(runtime, "DELETE FROM audit_entries WHERE organization_id = :o AND seq = :s", o=org, s=seq)
    _named(_problem(runtime, org), org, seq + 1, f"entries {seq}..{seq} are missing (deleted)")


def test_a_swapped_pair(runtime: Runtime, tenant: Tenant) -> None:
    """By seq (the pair's numbers exchanged) and by row id (the pair stored the other way)."""
    org, seq = tenant.id, _fill(runtime, tenant.id) + K
    swaps = [(seq, -1), (seq + 1, seq), (-1, seq + 1)]
    for old, new in swaps:
        _sql(runtime, "UPDATE audit_entries SET seq = :n WHERE organization_id = :o AND seq = :s",
             n=new, o=org, s=old)  # fmt: skip
    _named(_problem(runtime, org), org, seq, "does not link to the entry before it")
    for new, old in reversed(swaps):
        _sql(runtime, "UPDATE audit_entries SET seq = :n WHERE organization_id = :o AND seq = :s",
             n=new, o=org, s=old)  # fmt: skip
    assert _problem(runtime, org) is None

    a, b = _row(runtime, org, seq).id, _row(runtime, org, seq + 1).id
    top = _sql(runtime, "SELECT max(id) FROM audit_entries").scalar_one() + 100
    for old, new in [(a, top), (b, a), (top, b)]:
        _sql(runtime, "UPDATE audit_entries SET id = :n WHERE id = :i", n=new, i=old)
    _named(_problem(runtime, org), org, seq + 1, "stored out of order (reordered)")


def test_a_truncated_tail_against_an_anchor(runtime: Runtime, tenant: Tenant) -> None:
    """The chain alone cannot show a cut-off tail; the anchor taken before it does."""
    org, first = tenant.id, _fill(runtime, tenant.id)
    key = load_or_create_key(runtime.settings.data_dir / "audit-signing.key")
    with runtime.db.read_session() as session:
        anchors = signed_heads(session, key, org)
    last = first + N - 1
    _sql(runtime, "DELETE FROM audit_entries WHERE organization_id = :o AND seq > :s",
         o=org, s=last - 3)  # fmt: skip
    assert _problem(runtime, org) is None  # what is left is a well-formed chain
    with runtime.db.read_session() as session:
        (problem,) = check(session, anchors)
    assert (problem.seq, problem.organization_id) == (last, org)
    assert f"the chain ends at entry {last - 3}" in problem.reason and "truncated" in problem.reason
