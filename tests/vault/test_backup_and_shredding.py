"""Erasure that survives the key store's own files and every backup.

Checked on the bytes: the destroyed wrapped key is searched for in keys.db, keys.db-wal and
keys.db-shm (and in PostgreSQL's table file); backups are restored with the command line, and
the restored databases are read with plain SQL and a fresh key store, not through the code that
wrote them."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from honorbound.audit import Actor
from honorbound.backup import archive
from honorbound.backup.epochs import EpochError, EpochKeys, Policy
from honorbound.cli import build_app
from honorbound.config import Settings
from honorbound.runtime import Runtime, build_runtime
from honorbound.vault import erasure
from honorbound.vault.collection import add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import DataKey, KeyDestroyed, KeyStore
from honorbound.vault.models import Record, Subject
from honorbound.vault.rules import CollectionRules
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.conftest import PG_URL, Tenant, make_tenant
from tests.support.people import person

ACTOR = Actor("test", "agent")


def _person_with_record(rt: Runtime, org: int, rules: CollectionRules) -> tuple[int, str, str]:
    """A subject with an email identity and an email record; (id, key_id, email)."""
    p = person()
    with rt.db.session() as s:
        subject = upsert_subject(
            s, rt.vault_keys, org, [IdentityInput(IdentityKind.EMAIL, p.email)], ACTOR, rules
        ).subject
        add_record(
            s,
            rt.vault_keys,
            org,
            subject.id,
            "user.contact.email",
            p.email,
            ["billing"],
            "directly",
            ACTOR,
            rules,
        )
        return subject.id, subject.key_id, p.email


def _wrapped(keys: KeyStore, org: int, key_id: str) -> bytes:
    with keys.db.session() as s:
        row = s.get(DataKey, (org, key_id))
        assert row is not None
        return bytes(row.wrapped)


def _sqlite_files(url: str) -> list[Path]:
    base = Path(make_url(url).database or "")
    return [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]


def _occurrences(files: list[Path], needle: bytes) -> int:
    return sum(path.read_bytes().count(needle) for path in files)


def _emails_in(data_url: str, keys: KeyStore, org: int) -> set[str]:
    """Every email record that opens, read with plain SQL and the given key store."""
    engine = create_engine(data_url)
    found: set[str] = set()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.key_id, r.value_sealed FROM vault_records r JOIN vault_subjects s "
                "ON s.id = r.subject_id WHERE r.organization_id = :org"
            ),
            {"org": org},
        ).all()
    engine.dispose()
    for key_id, sealed in rows:
        try:
            dek = keys.data_key(org, key_id)
        except KeyDestroyed:
            continue
        found.add(open_text(dek, org, key_id, "record:user.contact.email", sealed))
    return found


def test_a_destroyed_key_is_in_none_of_the_key_stores_files(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    if runtime.vault_keys.db.dialect != "sqlite":
        pytest.skip("the SQLite key store's files")
    sid, key_id, _ = _person_with_record(runtime, tenant.id, rules)
    keep_sid, keep_key, _ = _person_with_record(runtime, tenant.id, rules)
    wrapped = _wrapped(runtime.vault_keys, tenant.id, key_id)
    files = _sqlite_files(runtime.settings.resolved_keystore_url)
    assert _occurrences(files, wrapped) >= 1  # present before: the check below can fail
    with runtime.db.session() as s:
        erasure.erase_subject(s, runtime.vault_keys, tenant.id, sid, ACTOR, "rights.delete")
    assert _occurrences(_sqlite_files(runtime.settings.resolved_keystore_url), wrapped) == 0
    assert runtime.vault_keys.has_data_key(tenant.id, keep_key)
    # The erasure is journalled with the key id only.
    [entry] = runtime.vault_keys.journal()
    assert (entry.organization_id, entry.key_id) == (tenant.id, key_id)
    assert keep_sid != sid


def test_a_reader_holding_the_wal_delays_the_scrub_to_the_scrub_job(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    if runtime.vault_keys.db.dialect != "sqlite":
        pytest.skip("the SQLite key store's files")
    sid, key_id, _ = _person_with_record(runtime, tenant.id, rules)
    wrapped = _wrapped(runtime.vault_keys, tenant.id, key_id)
    # Another process in the middle of a read transaction at the moment of erasure.
    reader = sqlite3.connect(
        make_url(runtime.settings.resolved_keystore_url).database or "", isolation_level=None
    )
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM data_keys").fetchone()
    with runtime.db.session() as s:
        erasure.erase_subject(s, runtime.vault_keys, tenant.id, sid, ACTOR, "rights.delete")
    assert not runtime.vault_keys.has_data_key(tenant.id, key_id)  # erased all the same
    reader.execute("COMMIT")
    reader.close()
    with runtime.db.session() as s:
        runtime.jobs.enqueue(s, "vault.scrub_keystore")  # the worker runs it every 5 minutes
    assert _occurrences(_sqlite_files(runtime.settings.resolved_keystore_url), wrapped) == 0


def test_rotation_leaves_no_copy_of_the_old_organization_key(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    if runtime.vault_keys.db.dialect != "sqlite":
        pytest.skip("the SQLite key store's files")
    _person_with_record(runtime, tenant.id, rules)
    with runtime.vault_keys.db.session() as s:
        old = bytes(s.execute(text("SELECT wrapped FROM organization_keys")).scalar_one())
    files = _sqlite_files(runtime.settings.resolved_keystore_url)
    assert _occurrences(files, old) >= 1
    runtime.vault_keys.rotate(tenant.id)
    assert _occurrences(_sqlite_files(runtime.settings.resolved_keystore_url), old) == 0


@pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL leg")
def test_a_destroyed_key_is_not_in_the_postgresql_table_file(
    runtime: Runtime, tenant: Tenant, database_url: str
) -> None:
    keys = KeyStore(database_url, runtime.keys)
    try:
        ids = [f"k{i:04d}" for i in range(300)]
        for key_id in ids:
            keys.create_data_key(tenant.id, key_id)
        wrapped = _wrapped(keys, tenant.id, "k0123")
        with keys.db.engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
            path = conn.execute(
                text(
                    "SELECT current_setting('data_directory') || '/' || "
                    "pg_relation_filepath('data_keys')"
                )
            ).scalar_one()
        assert Path(path).read_bytes().count(wrapped) == 1
        keys.destroy_data_keys(tenant.id, ["k0123"])
        with keys.db.engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
            path = conn.execute(
                text(
                    "SELECT current_setting('data_directory') || '/' || "
                    "pg_relation_filepath('data_keys')"
                )
            ).scalar_one()
        assert Path(path).read_bytes().count(wrapped) == 0
        assert keys.has_data_key(tenant.id, "k0124")
    finally:
        keys.close()


# -- backups ---------------------------------------------------------------------------------
def _cli_env(settings: Settings) -> dict[str, str]:
    env = {
        "HONORBOUND_DATA_DIR": str(settings.data_dir),
        "HONORBOUND_DATABASE_URL": settings.resolved_database_url,
        "HONORBOUND_KEYSTORE_URL": settings.resolved_keystore_url,
        "HONORBOUND_MASTER_KEY": settings.master_key,
        "HONORBOUND_BACKUP_EPOCH_DAYS": str(settings.backup_epoch_days),
        "HONORBOUND_BACKUP_RETENTION_DAYS": str(settings.backup_retention_days),
    }
    if settings.erasure_journal_file is not None:
        env["HONORBOUND_ERASURE_JOURNAL_FILE"] = str(settings.erasure_journal_file)
    return env


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args), env=_cli_env(settings))
    return result.exit_code, result.output.replace("\n", " ")


def _backup(settings: Settings, where: Path) -> Path:
    code, output = _cli(settings, "backup", "create", str(where))
    assert code == 0, output
    [folder] = [p for p in where.iterdir() if p.name.startswith("honorbound-")]
    return folder


def test_restore_replays_erasures_made_after_the_backup(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    journal = tmp_path / "elsewhere" / "erasures.jsonl"
    settings = settings.model_copy(update={"erasure_journal_file": journal})
    rt = build_runtime(settings, immediate_jobs=True)
    tenant = make_tenant(rt, "acme")
    gone_sid, _, gone_email = _person_with_record(rt, tenant.id, rules)
    _, _, kept_email = _person_with_record(rt, tenant.id, rules)
    folder = _backup(settings, tmp_path / "backups")
    # The backup holds no readable personal data and is readable by its owner only.
    for path in folder.iterdir():
        assert gone_email.encode() not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with rt.db.session() as s:
        erasure.erase_subject(s, rt.vault_keys, tenant.id, gone_sid, ACTOR, "rights.delete")
    rt.close()

    code, output = _cli(settings, "restore", str(folder))
    assert code == 2 and "--force" in output  # never replaces the live databases silently
    code, output = _cli(settings, "restore", str(folder), "--force")
    assert code == 0, output
    assert "1 subject(s) erased again" in output

    fresh = KeyStore(settings.resolved_keystore_url, build_runtime(settings).keys)
    try:
        assert _emails_in(settings.resolved_database_url, fresh, tenant.id) == {kept_email}
    finally:
        fresh.close()
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM vault_subjects WHERE id = :id"), {"id": gone_sid}
        ).scalar_one()
    engine.dispose()
    assert status == "erased"
    for path in _sqlite_files(settings.resolved_database_url) + _sqlite_files(
        settings.resolved_keystore_url
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_journal_file_keeps_an_erasure_when_the_live_key_store_is_lost(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    if make_url(settings.resolved_database_url).get_backend_name() != "sqlite":
        pytest.skip("loses the SQLite files of a whole installation")
    journal = tmp_path / "elsewhere" / "erasures.jsonl"
    settings = settings.model_copy(update={"erasure_journal_file": journal})
    rt = build_runtime(settings, immediate_jobs=True)
    tenant = make_tenant(rt, "acme")
    gone_sid, gone_key, _ = _person_with_record(rt, tenant.id, rules)
    _, _, kept_email = _person_with_record(rt, tenant.id, rules)
    folder = _backup(settings, tmp_path / "backups")
    with rt.db.session() as s:
        erasure.erase_subject(s, rt.vault_keys, tenant.id, gone_sid, ACTOR, "rights.delete")
    rt.close()
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines == [{"organization_id": tenant.id, "key_id": gone_key, "at": lines[0]["at"]}]
    # Disaster: both databases are gone; the backup, master key, epoch file and journal remain.
    for path in _sqlite_files(settings.resolved_database_url) + _sqlite_files(
        settings.resolved_keystore_url
    ):
        path.unlink()
    code, output = _cli(settings, "restore", str(folder))
    assert code == 0, output
    fresh = KeyStore(settings.resolved_keystore_url, build_runtime(settings).keys)
    try:
        assert not fresh.has_data_key(tenant.id, gone_key)
        assert _emails_in(settings.resolved_database_url, fresh, tenant.id) == {kept_email}
    finally:
        fresh.close()


def test_after_the_retention_period_no_backup_can_be_decrypted(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    settings = settings.model_copy(update={"backup_epoch_days": 1, "backup_retention_days": 2})
    rt = build_runtime(settings, immediate_jobs=True)
    tenant = make_tenant(rt, "acme")
    _person_with_record(rt, tenant.id, rules)
    folder = _backup(settings, tmp_path / "backups")
    keys_file = settings.resolved_backup_keys_file
    [row] = json.loads(keys_file.read_text())["epochs"]
    wrapped_epoch = row["wrapped"].encode()
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert _cli(settings, "backup", "verify", str(folder))[0] == 0

    # Two days later the epoch still has one more day: nothing is destroyed.
    assert (
        archive.expire(rt.epochs, rt.vault_keys, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))[0]
        == []
    )
    gone, _ = archive.expire(
        rt.epochs, rt.vault_keys, dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=1)
    )
    assert gone == [row["id"]]
    rt.close()
    # The key is gone from the file, including its bytes.
    assert wrapped_epoch not in keys_file.read_bytes()
    with pytest.raises(EpochError, match="destroyed"):
        EpochKeys(keys_file, build_runtime(settings).keys, Policy(1, 2)).key(row["id"])
    code, output = _cli(settings, "restore", str(folder), "--force")
    assert code == 2 and "can no longer be decrypted" in output
    code, output = _cli(settings, "backup", "verify", str(folder))
    assert code == 1 and "destroyed" in output


def test_damaged_backups_are_refused_and_the_live_databases_are_untouched(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    tenant = make_tenant(rt, "acme")
    _, _, email = _person_with_record(rt, tenant.id, rules)
    folder = _backup(settings, tmp_path / "backups")
    rt.close()

    def live_state() -> list[bytes]:
        return [p.read_bytes() for p in _sqlite_files(settings.resolved_database_url)]

    def damaged(name: str, change: object) -> Path:
        copy = tmp_path / f"copy-{name}"
        copy.mkdir()
        for path in folder.iterdir():
            (copy / path.name).write_bytes(path.read_bytes())
        change(copy)  # type: ignore[operator]
        return copy

    def flip(copy: Path) -> None:
        data = bytearray((copy / "data.hbk").read_bytes())
        data[len(data) // 2] ^= 1
        (copy / "data.hbk").write_bytes(bytes(data))
        manifest = json.loads((copy / "manifest.json").read_text())
        import hashlib

        manifest["parts"]["data"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
        (copy / "manifest.json").write_text(json.dumps(manifest))

    def truncate(copy: Path) -> None:
        data = (copy / "keys.hbk").read_bytes()
        (copy / "keys.hbk").write_bytes(data[: len(data) - 40])

    cases = {
        "flipped": (flip, "does not decrypt"),
        "truncated": (truncate, "SHA-256 differs"),
        "no-manifest": (lambda c: (c / "manifest.json").unlink(), "no manifest.json"),
        "bad-manifest": (lambda c: (c / "manifest.json").write_text("{"), "not JSON"),
        "missing-part": (lambda c: (c / "keys.hbk").unlink(), "missing"),
    }
    before = live_state()
    for name, (change, message) in cases.items():
        code, output = _cli(settings, "restore", str(damaged(name, change)), "--force")
        assert code == 2 and message in output, (name, output)
        assert live_state() == before, name
        assert not list(settings.data_dir.glob(".restore-*")), name
    fresh = KeyStore(settings.resolved_keystore_url, build_runtime(settings).keys)
    try:
        assert _emails_in(settings.resolved_database_url, fresh, tenant.id) == {email}
    finally:
        fresh.close()


def test_a_bad_journal_file_is_named_with_its_line(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    make_tenant(rt, "acme")
    folder = _backup(settings, tmp_path / "backups")
    rt.close()
    bad = tmp_path / "journal.jsonl"
    bad.write_text('{"organization_id": 1, "key_id": "x", "at": "2026-01-01"}\nnot json\n')
    code, output = _cli(settings, "restore", str(folder), "--force", "--journal", str(bad))
    assert code == 2 and "journal.jsonl:2" in output
    assert (
        _cli(settings, "restore", str(folder), "--force", "--journal", str(tmp_path / "nope"))[0]
        == 2
    )


def test_restore_refuses_another_kind_of_database(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    make_tenant(rt, "acme")
    folder = _backup(settings, tmp_path / "backups")
    rt.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    other = "postgresql" if manifest["parts"]["data"]["dialect"] == "sqlite" else "sqlite"
    manifest["parts"]["data"]["dialect"] = other
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, output = _cli(settings, "restore", str(folder), "--force")
    assert code == 2 and "restore into the same kind" in output


def test_records_survive_a_round_trip_unchanged(
    settings: Settings, tmp_path: Path, rules: CollectionRules
) -> None:
    rt = build_runtime(settings, immediate_jobs=True)
    tenant = make_tenant(rt, "acme")
    people = [_person_with_record(rt, tenant.id, rules) for _ in range(5)]
    with rt.db.session() as s:
        before = sorted((r.id, bytes(r.value_sealed)) for r in s.scalars(select(Record)))
        subjects = s.scalar(select(Subject.id).order_by(Subject.id.desc()))
    folder = _backup(settings, tmp_path / "backups")
    rt.close()
    assert _cli(settings, "restore", str(folder), "--force")[0] == 0
    rt = build_runtime(settings)
    with rt.db.session() as s:
        after = sorted((r.id, bytes(r.value_sealed)) for r in s.scalars(select(Record)))
        assert s.scalar(select(Subject.id).order_by(Subject.id.desc())) == subjects
    assert after == before
    assert _emails_in(settings.resolved_database_url, rt.vault_keys, tenant.id) == {
        email for _, _, email in people
    }
    rt.close()
    assert os.path.exists(settings.resolved_backup_keys_file)
