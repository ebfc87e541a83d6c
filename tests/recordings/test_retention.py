"""Stored recordings follow the adopted notice's retention rule for call recordings: the ones
ingested before the cutoff are deleted whole (all their files, checked on disk)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from honorbound.audit import Actor
from honorbound.audit.models import AuditEntry
from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.policy.store import adopt_text
from honorbound.recordings.ingest import ingest
from honorbound.recordings.store import RecordingStore
from honorbound.runtime import Runtime
from tests.conftest import Tenant, adopt_example
from tests.recordings import synth

DECLARATION = """\
schema: honorbound/declaration/v1
organization: {name: Recording Test Center}
contact: {email: privacy@example.test}
effective_date: 2026-01-01
subjects: [{id: customer, name: Customers}]
categories:
  - {key: user.contact, subjects: all}
  - {key: user.contact_center.call_recording, subjects: all}
purposes:
  - id: support
    name: Support
    use: essential.service
    categories: [user.contact, user.contact_center.call_recording]
retention:
  - id: recordings
    categories: [user.contact_center.call_recording]
    triggers: [{trigger: after_collection, period: P90D}]
  - id: customers
    categories: [user.contact]
    triggers: [{trigger: after_last_activity, period: P6Y}]
children: {minimum_age: 13, on_discovery: delete}
changes: {methods: [post_on_website]}
"""
# The same notice, saying originals of calls are kept 30 days, and of calls holding a card
# number 7 days: the shortest period of the categories a call holds wins.
KEEP_ORIGINALS = (
    DECLARATION.replace(
        "  - {key: user.contact_center.call_recording, subjects: all}",
        "  - {key: user.contact_center.call_recording, subjects: all,\n"
        "     originals: {keep: true, period: P30D}}\n"
        "  - {key: user.financial.credit_card, subjects: all,\n"
        "     originals: {keep: true, period: P7D}}",
    )
    .replace(
        "categories: [user.contact, user.contact_center.call_recording]",
        "categories: [user.contact, user.contact_center.call_recording,"
        " user.financial.credit_card]",
    )
    .replace(
        "    categories: [user.contact_center.call_recording]\n",
        "    categories: [user.contact_center.call_recording, user.financial.credit_card]\n",
    )
)


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("database_url", "keystore_url", "master_key", "data_dir"):
        monkeypatch.setenv(f"HONORBOUND_{name.upper()}", str(getattr(settings, name)))
    return CliRunner()


def test_recordings_past_the_notices_period_are_deleted(
    cli: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    with runtime.db.session() as session:
        adopt_text(session, tenant.id, DECLARATION, Actor("test", "system"))
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    wav = card_call.write(tmp_path / "c.wav")
    now = dt.datetime.now(dt.UTC)
    old = ingest(store, wav, None, now=now - dt.timedelta(days=91))
    young = ingest(store, wav, None, now=now - dt.timedelta(days=89))
    r = cli.invoke(build_app(), ["recordings", "sweep", "--dry-run"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{") :])
    assert (out["rule_id"], out["period"], out["due"], out["deleted"]) == (
        "recordings",
        "P90D",
        1,
        0,
    )
    assert old.path.exists()
    r = cli.invoke(build_app(), ["recordings", "sweep"])
    assert r.exit_code == 0 and json.loads(r.output[r.output.index("{") :])["deleted"] == 1
    assert not old.path.exists() and young.path.exists()
    assert sorted(p.name for p in store.root.iterdir() if not p.name.startswith(".")) == [
        young.recording_id
    ]
    with runtime.db.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "recordings.swept"))
        assert entry is not None and entry.details["deleted"] == 1


def test_no_rule_for_recordings_deletes_nothing(
    cli: CliRunner, runtime: Runtime, tenant: Tenant, tmp_path: Path, card_call: synth.Call
) -> None:
    r = cli.invoke(build_app(), ["recordings", "sweep"])
    assert r.exit_code == 2 and "adopted no notice" in r.output
    adopt_example(runtime, tenant.id)  # its rules run from account closure, not collection
    store = RecordingStore.for_organization(runtime.settings.resolved_recordings_dir, tenant.id)
    done = ingest(
        store,
        card_call.write(tmp_path / "c.wav"),
        None,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=4000),
    )
    r = cli.invoke(build_app(), ["recordings", "sweep"])
    assert r.exit_code == 0 and json.loads(r.output[r.output.index("{") :])["rule_id"] is None
    assert done.path.exists()
