"""The vault's domain functions on a real database and a real key store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from honorbound.audit import Actor
from honorbound.crypto.aead import DecryptionError, open_sealed
from honorbound.runtime import Runtime
from honorbound.vault import erasure
from honorbound.vault.collection import Consent, NewInteraction, add_interaction, add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.keystore import DataKey, KeyDestroyed, KeyStore, OrganizationKey
from honorbound.vault.models import (
    Channel,
    Direction,
    Identity,
    Interaction,
    Record,
    Subject,
)
from honorbound.vault.reading import access_log, reveal, subject_view
from honorbound.vault.rules import CategoryRule, CollectionRefused, CollectionRules
from honorbound.vault.sealing import open_text
from honorbound.vault.subjects import (
    BelowMinimumAge,
    IdentityInput,
    InvalidIdentityAt,
    SubjectConflict,
    find_subject_id,
    merge_subjects,
    record_lifecycle,
    upsert_subject,
)
from tests.conftest import Tenant
from tests.support.people import person, remember

ACTOR = Actor("test", "agent")


def _subject(rt: Runtime, org: int, rules: CollectionRules, **kw: object) -> tuple[int, str]:
    p = person()
    with rt.db.session() as s:
        up = upsert_subject(
            s,
            rt.vault_keys,
            org,
            [
                IdentityInput(IdentityKind.EMAIL, p.email),
                IdentityInput(IdentityKind.PHONE, p.phone),
            ],
            ACTOR,
            rules,
            **kw,  # type: ignore[arg-type]
        )
        return up.subject.id, p.email


def test_upsert_finds_by_any_identity_and_values_are_sealed(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    p = person()
    keys = runtime.vault_keys
    with runtime.db.session() as s:
        first = upsert_subject(
            s, keys, tenant.id, [IdentityInput(IdentityKind.EMAIL, p.email.upper())], ACTOR, rules
        )
    with runtime.db.session() as s:
        # Same person, other spelling of the email plus a new phone: same subject, one new id.
        again = upsert_subject(
            s,
            keys,
            tenant.id,
            [
                IdentityInput(IdentityKind.PHONE, p.phone),
                IdentityInput(IdentityKind.EMAIL, p.email),
            ],
            ACTOR,
            rules,
        )
        assert again.subject.id == first.subject.id and not again.created and first.created
        assert len(again.identity_ids) == 2
    with runtime.db.session() as s:
        assert find_subject_id(s, keys, tenant.id, "phone", p.phone) == first.subject.id
        assert find_subject_id(s, keys, tenant.id, "email", p.email) == first.subject.id
        assert find_subject_id(s, keys, tenant.id + 1, "email", p.email) is None
        sealed = s.scalars(select(Identity.value_sealed)).all()
    assert sealed and all(p.email.encode() not in v and p.phone.encode() not in v for v in sealed)


def test_malformed_identity_names_its_index(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    p = person()
    with runtime.db.session() as s, pytest.raises(InvalidIdentityAt) as info:
        upsert_subject(
            s,
            runtime.vault_keys,
            tenant.id,
            [IdentityInput(IdentityKind.EMAIL, p.email), IdentityInput(IdentityKind.PHONE, "12")],
            ACTOR,
            rules,
        )
    assert info.value.index == 1
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subject)) == 0


def test_two_subjects_sharing_identities_conflict_then_merge(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    a, b = person(), person()
    with runtime.db.session() as s:
        sa = upsert_subject(
            s, keys, tenant.id, [IdentityInput(IdentityKind.EMAIL, a.email)], ACTOR, rules
        ).subject.id
        sb = upsert_subject(
            s, keys, tenant.id, [IdentityInput(IdentityKind.EMAIL, b.email)], ACTOR, rules
        ).subject.id
        add_record(
            s, keys, tenant.id, sb, "user.contact.email", b.email, ["billing"], "web", ACTOR, rules
        )
    with runtime.db.session() as s, pytest.raises(SubjectConflict) as info:
        upsert_subject(
            s,
            keys,
            tenant.id,
            [
                IdentityInput(IdentityKind.EMAIL, a.email),
                IdentityInput(IdentityKind.EMAIL, b.email),
            ],
            ACTOR,
            rules,
        )
    assert info.value.subject_ids == sorted([sa, sb])
    with runtime.db.session() as s:
        old_key = s.get(Subject, sb).key_id  # type: ignore[union-attr]
        merge_subjects(s, keys, tenant.id, sa, sb, ACTOR)
    with runtime.db.session() as s:
        assert find_subject_id(s, keys, tenant.id, "email", b.email) == sa
        view = subject_view(s, keys, tenant.id, sa)
        assert len(view.identities) == 2 and len(view.records) == 1
        assert s.get(Subject, sb) is None
    assert not keys.has_data_key(tenant.id, old_key)


def test_record_rules_name_the_rule_and_write_nothing(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    sid, _ = _subject(runtime, tenant.id, rules, jurisdiction="CO")
    cases = [
        ("user.unknown", ["billing"], None, "category_not_declared", "body.category"),
        (
            "user.contact.email",
            ["billing", "marketing"],
            None,
            "purpose_not_declared",
            "body.purposes[1]",
        ),
        ("user.health", ["customer_service"], None, "sensitive_requires_opt_in", "body.consent"),
        (
            "user.health",
            ["customer_service"],
            Consent(False),
            "sensitive_requires_opt_in",
            "body.consent",
        ),
    ]
    for category, purposes, consent, rule, field in cases:
        with runtime.db.session() as s, pytest.raises(CollectionRefused) as info:
            add_record(
                s,
                keys,
                tenant.id,
                sid,
                category,
                "x",
                purposes,
                "call",
                ACTOR,
                rules,
                consent=consent,
            )
        assert (info.value.rule, info.value.field) == (rule, field)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 0
        record = add_record(
            s,
            keys,
            tenant.id,
            sid,
            "user.health",
            "asthma",
            ["customer_service"],
            "call",
            ACTOR,
            rules,
            consent=Consent(True, {"method": "ivr", "at": "2026-01-01"}),
        )
        assert record.policy_version_id == 7
    # Outside an opt-in state, the sensitive category needs no opt-in.
    sid2, _ = _subject(runtime, tenant.id, rules, jurisdiction="CA")
    with runtime.db.session() as s:
        add_record(
            s,
            keys,
            tenant.id,
            sid2,
            "user.health",
            "asthma",
            ["customer_service"],
            "call",
            ACTOR,
            rules,
        )


def test_minimum_age(runtime: Runtime, tenant: Tenant, rules: CollectionRules) -> None:
    keys = runtime.vault_keys
    today = dt.date.today()
    child = today.replace(year=today.year - 10)
    with pytest.raises(BelowMinimumAge) as info:
        _subject(runtime, tenant.id, rules, birth_date=child)
    assert info.value.subject_id is None and info.value.field == "body.birth_date"
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subject)) == 0
    # Collected before this organization set a minimum age: known to be 12.
    relaxed = dataclasses.replace(rules, minimum_age=None)
    sid, email = _subject(runtime, tenant.id, relaxed, age=12)
    with runtime.db.session() as s, pytest.raises(BelowMinimumAge) as info:
        add_record(
            s, keys, tenant.id, sid, "user.contact.email", email, ["billing"], "web", ACTOR, rules
        )
    assert info.value.subject_id == sid
    with runtime.db.session() as s:
        erasure.schedule_erasure(s, runtime.jobs, tenant.id, sid, Actor.system(), "minimum_age")
    with runtime.db.session() as s:  # the job ran after commit (immediate jobs in tests)
        subject = s.get(Subject, sid)
        assert subject is not None and subject.status == "erased"


def test_interaction_screening_keeps_no_card_or_code(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    sid, _ = _subject(runtime, tenant.id, rules)
    card, code = "4111 1111 1111 1111", "737"
    remember(card, "4111111111111111")
    text = f"Caller read card {card} and the CVV is {code}, expiry next year."
    started = dt.datetime.now(dt.UTC)
    # The original may be kept only when the declaration lists the card category too.
    with_cards = dataclasses.replace(
        rules,
        categories={
            **rules.categories,
            "user.financial.credit_card": CategoryRule(
                "user.financial.credit_card", False, frozenset({"billing"})
            ),
        },
    )
    for keep, r in ((False, rules), (True, with_cards)):
        with runtime.db.session() as s:
            added = add_interaction(
                s,
                keys,
                tenant.id,
                sid,
                NewInteraction(
                    Channel.CALL,
                    Direction.INBOUND,
                    started,
                    text=text,
                    recording_uri="s3://rec/1.wav",
                    recording_sha256="a" * 64,
                ),
                ACTOR,
                r,
            )
            assert added.findings == {"CREDIT_CARD": 1, "CVV": 1}
            assert added.original_kept is keep
            iid = added.interaction.id
        with runtime.db.session() as s:
            row = s.get(Interaction, iid)
            subject = s.get(Subject, sid)
            assert row is not None and subject is not None
            dek = keys.data_key(tenant.id, subject.key_id)
            body = open_text(
                dek, tenant.id, subject.key_id, "interaction:body", row.body_sealed or b""
            )
            assert card not in body and code not in body and "[CREDIT_CARD]" in body
            if keep:
                original = open_text(
                    dek,
                    tenant.id,
                    subject.key_id,
                    "interaction:original",
                    row.original_sealed or b"",
                )
                assert card in original and f"is {code}" not in original
            else:
                assert row.original_sealed is None


def test_reveal_logs_and_masked_view(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    sid, email = _subject(runtime, tenant.id, rules)
    with runtime.db.session() as s:
        rec = add_record(
            s,
            keys,
            tenant.id,
            sid,
            "user.financial.account_number",
            "9876543210",
            ["billing"],
            "call",
            ACTOR,
            rules,
        )
        remember("9876543210")
    with runtime.db.session() as s:
        view = subject_view(s, keys, tenant.id, sid)
        masked = {i.kind: i.masked for i in view.identities}
        assert masked["email"] == f"{email[0]}***@{email.split('@')[1]}"
        assert (
            masked["phone"].endswith(email and masked["phone"][-4:])
            and "555" not in masked["phone"]
        )
        assert view.records[0].masked == "\u2022\u2022\u2022\u20223210"
        assert access_log(s, tenant.id, sid) == []
    officer = Actor("user:9", "privacy_officer")
    with runtime.db.session() as s:
        assert reveal(s, keys, tenant.id, sid, "record", rec.id, officer, "billing dispute") == (
            "9876543210"
        )
    with runtime.db.session() as s:
        log = access_log(s, tenant.id, sid)
        assert [(e.actor, e.role, e.reason, e.object_id) for e in log] == [
            ("user:9", "privacy_officer", "billing dispute", rec.id)
        ]
    with runtime.db.session() as s, pytest.raises(ValueError):
        reveal(s, keys, tenant.id, sid, "record", rec.id, officer, "  ")


def _copy_vault_tables(runtime: Runtime, target: Path) -> None:
    """A copy of the data database's vault tables in another file (works from either DB)."""
    from honorbound.vault import models as vm

    engine = create_engine(f"sqlite:///{target}")
    tables = [
        vm.Subject.__table__,
        vm.Identity.__table__,
        vm.Record.__table__,
        vm.Interaction.__table__,
    ]
    with runtime.db.engine.connect() as src, engine.begin() as dst:
        for table in tables:
            table.to_metadata(__import__("sqlalchemy").MetaData())  # noqa: B018
        from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table

        meta = MetaData()
        copies = {
            "vault_subjects": Table(
                "vault_subjects", meta, Column("id", Integer), Column("key_id", String)
            ),
            "vault_records": Table(
                "vault_records",
                meta,
                Column("id", Integer),
                Column("subject_id", Integer),
                Column("category", String),
                Column("value_sealed", LargeBinary),
            ),
        }
        meta.create_all(dst)
        for name, copy in copies.items():
            source = next(t for t in tables if t.name == name)
            rows = src.execute(select(*[source.c[c.name] for c in copy.columns])).mappings().all()
            if rows:
                dst.execute(copy.insert(), [dict(r) for r in rows])
    engine.dispose()


def _decrypt_copy(keys: KeyStore, org: int, path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    out = []
    for key_id, category, sealed in conn.execute(
        "select s.key_id, r.category, r.value_sealed from vault_records r "
        "join vault_subjects s on s.id = r.subject_id"
    ):
        dek = keys.data_key(org, key_id)
        out.append(open_text(dek, org, key_id, f"record:{category}", sealed))
    conn.close()
    return out


def test_erasure_shreds_the_key_so_an_earlier_copy_is_unreadable(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules, tmp_path: Path
) -> None:
    keys = runtime.vault_keys
    sid, email = _subject(runtime, tenant.id, rules)
    other, _ = _subject(runtime, tenant.id, rules)
    with runtime.db.session() as s:
        add_record(
            s, keys, tenant.id, sid, "user.contact.email", email, ["billing"], "web", ACTOR, rules
        )
        add_interaction(
            s,
            keys,
            tenant.id,
            sid,
            NewInteraction(Channel.CHAT, Direction.INBOUND, dt.datetime.now(dt.UTC), text="hello"),
            ACTOR,
            rules,
        )
    copy = tmp_path / "copy-before-erasure.db"
    _copy_vault_tables(runtime, copy)
    # Before erasure the copy opens with the key store (so the check below can fail).
    assert _decrypt_copy(keys, tenant.id, copy) == [email]
    with runtime.db.session() as s:
        result = erasure.erase_subject(s, keys, tenant.id, sid, Actor.system(), "rights.deletion")
    assert (result.keys_destroyed, result.identities, result.records, result.interactions) == (
        1,
        2,
        1,
        1,
    )
    # A fresh key store (no cached keys) cannot open the old copy any more.
    fresh = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    with pytest.raises(KeyDestroyed):
        _decrypt_copy(fresh, tenant.id, copy)
    with pytest.raises(KeyDestroyed):
        _decrypt_copy(keys, tenant.id, copy)
    fresh.close()
    with runtime.db.session() as s:
        subject = s.get(Subject, sid)
        assert subject is not None and subject.status == "erased"
        assert s.scalar(select(func.count()).select_from(Record)) == 0
        assert find_subject_id(s, keys, tenant.id, "email", email) is None
        # The other subject is untouched.
        assert subject_view(s, keys, tenant.id, other).identities


def test_delete_records_keeps_the_subject_key(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    sid, email = _subject(runtime, tenant.id, rules)
    with runtime.db.session() as s:
        add_record(
            s, keys, tenant.id, sid, "user.contact.email", email, ["billing"], "web", ACTOR, rules
        )
        add_record(
            s,
            keys,
            tenant.id,
            sid,
            "user.financial.account_number",
            "1234567",
            ["billing"],
            "web",
            ACTOR,
            rules,
        )
    with runtime.db.session() as s:
        n = erasure.delete_records(
            s, tenant.id, Actor.system(), "retention", category="user.contact.email"
        )
    assert n == 1
    with runtime.db.session() as s:
        view = subject_view(s, keys, tenant.id, sid)
        assert [r.category for r in view.records] == ["user.financial.account_number"]


def test_batch_erasure_ignores_other_organizations(
    runtime: Runtime, tenant: Tenant, other_tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    mine = [_subject(runtime, tenant.id, rules)[0] for _ in range(3)]
    theirs = _subject(runtime, other_tenant.id, rules)[0]
    with runtime.db.session() as s:
        result = erasure.erase_subjects(
            s, keys, tenant.id, [*mine, theirs], Actor.system(), "retention"
        )
    assert sorted(result.subject_ids) == sorted(mine) and result.keys_destroyed == 3
    with runtime.db.session() as s:
        assert subject_view(s, keys, other_tenant.id, theirs).identities


def test_rotation_rewraps_keys_and_old_kek_stops_working(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    sid, email = _subject(runtime, tenant.id, rules)
    with runtime.db.session() as s:
        rec = add_record(
            s, keys, tenant.id, sid, "user.contact.email", email, ["billing"], "web", ACTOR, rules
        )
        sealed_before = rec.value_sealed
    wrapping = keys.derived(f"keystore:org:{tenant.id}:kek-wrap")
    with keys.db.session() as ks:
        old = ks.get(OrganizationKey, (tenant.id, 1))
        assert old is not None
        old_kek = open_sealed(wrapping, old.wrapped, f"kek|{tenant.id}|1".encode())
    result = keys.rotate(tenant.id)
    assert (result.old_version, result.new_version, result.rewrapped) == (1, 2, 1)
    with keys.db.session() as ks:
        assert ks.get(OrganizationKey, (tenant.id, 1)) is None
        subject_key = ks.scalars(select(DataKey).where(DataKey.organization_id == tenant.id)).one()
        assert subject_key.kek_version == 2
        with pytest.raises(DecryptionError):
            open_sealed(
                old_kek, subject_key.wrapped, f"dek|{tenant.id}|{subject_key.key_id}|1".encode()
            )
        with pytest.raises(DecryptionError):
            open_sealed(
                old_kek, subject_key.wrapped, f"dek|{tenant.id}|{subject_key.key_id}|2".encode()
            )
    fresh = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    with runtime.db.session() as s:
        row = s.get(Record, rec.id)
        assert row is not None and row.value_sealed == sealed_before  # data untouched
        assert reveal(s, fresh, tenant.id, sid, "record", rec.id, ACTOR, "check") == email
    fresh.close()


def test_ciphertext_moved_to_another_subject_does_not_open(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    keys = runtime.vault_keys
    a, email = _subject(runtime, tenant.id, rules)
    with runtime.db.session() as s:
        rec = add_record(
            s, keys, tenant.id, a, "user.contact.email", email, ["billing"], "web", ACTOR, rules
        )
        subject = s.get(Subject, a)
        assert subject is not None
        dek = keys.data_key(tenant.id, subject.key_id)
        with pytest.raises(DecryptionError):
            open_text(dek, tenant.id, subject.key_id, "record:user.health", rec.value_sealed)
        with pytest.raises(DecryptionError):
            open_text(
                dek, tenant.id + 1, subject.key_id, "record:user.contact.email", rec.value_sealed
            )


def test_key_created_after_rotation_elsewhere_uses_the_new_kek(
    runtime: Runtime, tenant: Tenant
) -> None:
    """`honorbound keys rotate` runs in another process than the server: the server's cached
    KEK must not wrap new data keys once it is destroyed."""
    server = runtime.vault_keys
    server.create_data_key(tenant.id, "a" * 32)
    cli = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    assert cli.rotate(tenant.id).new_version == 2
    server.create_data_key(tenant.id, "b" * 32)
    cli.close()
    with server.db.session() as ks:
        versions = {k: v for k, v in ks.execute(select(DataKey.key_id, DataKey.kek_version))}
    assert versions == {"a" * 32: 2, "b" * 32: 2}
    fresh = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    assert fresh.data_key(tenant.id, "b" * 32) == server.data_key(tenant.id, "b" * 32)
    fresh.close()


def test_a_key_shredded_by_another_process_leaves_every_cache(
    runtime: Runtime, tenant: Tenant
) -> None:
    """The server caches unwrapped data keys; an erasure run by the worker or the CLI (another
    KeyStore on the same key database) must not leave the key readable in the server."""
    server = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys, recheck_seconds=0)
    key_id = "c" * 32
    dek = server.create_data_key(tenant.id, key_id)
    assert server.data_key(tenant.id, key_id) == dek  # now cached in the server
    worker = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    assert worker.destroy_data_keys(tenant.id, [key_id]) == 1
    worker.close()
    with pytest.raises(KeyDestroyed):
        server.data_key(tenant.id, key_id)
    server.close()


def test_a_cached_key_is_rechecked_at_most_once_per_interval(
    runtime: Runtime, tenant: Tenant
) -> None:
    server = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys, recheck_seconds=3600)
    key_id = "d" * 32
    server.create_data_key(tenant.id, key_id)
    server.data_key(tenant.id, key_id)
    worker = KeyStore(runtime.settings.resolved_keystore_url, runtime.keys)
    worker.destroy_data_keys(tenant.id, [key_id])
    worker.close()
    # Within the interval the cache answers (no query per read); the interval bounds how long.
    assert len(server.data_key(tenant.id, key_id)) == 32
    server.close()


def test_merge_keeps_an_account_open_when_either_side_is_open(
    runtime: Runtime, tenant: Tenant, rules: CollectionRules
) -> None:
    """Two records of one person merged: the account counts as closed only if it was closed on
    both sides (then at the later time), so retention's after-closure clock does not start for
    a person who is still a customer."""
    keys = runtime.vault_keys

    def subject() -> int:
        with runtime.db.session() as s:
            email = person().email
            return upsert_subject(
                s, keys, tenant.id, [IdentityInput(IdentityKind.EMAIL, email)], ACTOR, rules
            ).subject.id

    a, b, c = subject(), subject(), subject()
    with runtime.db.session() as s:
        born = max(s.get(Subject, x).created_at for x in (a, b, c))  # type: ignore[union-attr]
    later = born + dt.timedelta(days=30)
    first, second = born + dt.timedelta(days=10), born + dt.timedelta(days=20)
    with runtime.db.session() as s:
        record_lifecycle(s, tenant.id, a, {"account_closed_at": first}, ACTOR, now=later)
        record_lifecycle(s, tenant.id, b, {"account_closed_at": second}, ACTOR, now=later)
        record_lifecycle(s, tenant.id, c, {"engagement_ended_at": first}, ACTOR, now=later)
    with runtime.db.session() as s:
        merge_subjects(s, keys, tenant.id, a, b, ACTOR)
    with runtime.db.session() as s:
        merged = s.get(Subject, a)
        assert merged is not None
        assert merged.account_closed_at is not None
        assert merged.account_closed_at.replace(tzinfo=None) == second.replace(tzinfo=None)
        merge_subjects(s, keys, tenant.id, a, c, ACTOR)  # c's account never closed
    with runtime.db.session() as s:
        merged = s.get(Subject, a)
        assert merged is not None and merged.account_closed_at is None
        assert merged.engagement_ended_at is None  # a/b never ended theirs
