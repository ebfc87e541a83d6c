"""The composition root: settings -> database, keys, job queue and transports, wired once.

Adapters (API, web, CLI, worker) build one `Runtime` and pass its parts down. Domain code never
reads settings itself.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from honorbound.accounts.keycache import ApiKeyCache
from honorbound.accounts.models import Organization
from honorbound.audit import Actor
from honorbound.audit import jobs as audit_jobs
from honorbound.backup import archive as backup_archive
from honorbound.backup.epochs import EpochKeys, Policy
from honorbound.bpo.desk import RequestCounts
from honorbound.breach import reminders as breach_reminders
from honorbound.breach.wording import Wording, load_wording
from honorbound.config import ConfigError, Settings
from honorbound.consent import service as consent_service
from honorbound.consent.decisions import DecisionEngine
from honorbound.consent.rules import ContactRules
from honorbound.consent.rules import load as load_contact_rules
from honorbound.crypto.keyring import KeyRing
from honorbound.crypto.providers import (
    FileProvider,
    MasterKeyProvider,
    Pkcs11Config,
    Pkcs11Provider,
)
from honorbound.db.engine import Database, Limits
from honorbound.db.files import private_dir, private_sqlite_file
from honorbound.jobs import JobQueue, JobRegistry, Periodic
from honorbound.jobs.backends import huey_api
from honorbound.notify import outbox
from honorbound.notify.outbox import Transport
from honorbound.notify.smtp import SmtpTransport
from honorbound.policy.client_rules import RuleBook
from honorbound.policy.jurisdictions import JurisdictionRules, load_rules, rules_data
from honorbound.policy.problems import DeclarationError
from honorbound.ratelimit import LIMITS, RateLimits
from honorbound.recordings import jobs as recordings_jobs
from honorbound.retention import jobs as retention_jobs
from honorbound.rights import jobs as rights_jobs
from honorbound.rights.protocols import jobs as protocol_jobs
from honorbound.systems import jobs as systems_jobs
from honorbound.vault import erasure as vault_erasure
from honorbound.vault import idempotency as vault_idempotency
from honorbound.vault import keystore
from honorbound.vault.keystore import KeyStore
from honorbound.vault.notices import notify_material_change
from honorbound.vault.screening import ScreeningPool

if TYPE_CHECKING:
    from huey import Huey

BACKUP_EXPIRE_JOB = "backup.expire_epochs"


def master_key_provider(settings: Settings) -> MasterKeyProvider:
    """The provider the settings name (`HONORBOUND_KEY_PROVIDER`)."""
    if settings.key_provider == "pkcs11":
        if settings.pkcs11_module is None or not settings.pkcs11_token_label:
            raise ConfigError(
                "HONORBOUND_KEY_PROVIDER=pkcs11 needs HONORBOUND_PKCS11_MODULE and "
                "HONORBOUND_PKCS11_TOKEN_LABEL."
            )
        pin = settings.pkcs11_pin
        if not pin and settings.pkcs11_pin_file is not None:
            try:
                pin = settings.pkcs11_pin_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"HONORBOUND_PKCS11_PIN_FILE: cannot read {settings.pkcs11_pin_file} "
                    f"({exc.strerror or 'unreadable'})."
                ) from None
        return Pkcs11Provider(
            Pkcs11Config(
                settings.pkcs11_module,
                settings.pkcs11_token_label,
                pin,
                settings.pkcs11_key_label,
                settings.resolved_wrapped_master_key_file,
            )
        )
    return FileProvider(settings.resolved_master_key_file, settings.master_key)


def load_master_key(settings: Settings) -> bytes:
    return master_key_provider(settings).load()


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keys: KeyRing
    registry: JobRegistry
    huey: Huey
    jobs: JobQueue
    # The one jurisdiction rules object (shipped rules with HONORBOUND_RULES_FILE merged in),
    # read once at start-up and handed to every consumer: rights, consent, policy, jobs.
    rules: JurisdictionRules
    transports: dict[str, Transport] = field(default_factory=dict)
    vault_keys: KeyStore = field(default=None)  # type: ignore[assignment]  # set by build_runtime
    epochs: EpochKeys = field(default=None)  # type: ignore[assignment]  # set by build_runtime
    # The one rate limiter of every public route and of sign-in (honorbound.ratelimit).
    rate_limits: RateLimits = field(default=None)  # type: ignore[assignment]  # set by build_runtime
    # The words of the breach notices (templates per language), read once like the rules.
    breach_wording: Wording = field(default_factory=load_wording)
    # Authenticated API keys, revocation checked per request (accounts.keycache).
    api_keys: ApiKeyCache = field(default_factory=ApiKeyCache)
    # The one contact rules object (calling hours, caps, SMS keywords, opt-out deadlines): the
    # shipped consent/data/contact-rules.yaml with the `contact_rules` section of
    # HONORBOUND_RULES_FILE merged in, read once like the jurisdiction rules.
    contact_rules: ContactRules = field(default_factory=load_contact_rules)
    # The one contact-decision engine (its snapshots are per organization), built from the
    # key ring, the vault's key store and the two rules objects above.
    decisions: DecisionEngine = field(default=None)  # type: ignore[assignment]  # set by build_runtime
    # The cross-client desk's open-request counts per organization, kept by the database's
    # per-organization request counter (bpo.desk.RequestCounts).
    desk_counts: RequestCounts = field(default_factory=RequestCounts)
    # The rules of each organization: `rules`, or with the client's own override merged in
    # (policy.client_rules), built once per override version.
    rule_book: RuleBook = field(default=None)  # type: ignore[assignment]  # set by build_runtime
    # Bulk ingest's screening processes (HONORBOUND_INGEST_SCREENING_PROCESSES), started on use.
    screening: ScreeningPool = field(default_factory=lambda: ScreeningPool(0))

    def installation(self) -> backup_archive.Installation:
        return backup_archive.Installation(
            self.settings.resolved_database_url,
            self.settings.resolved_keystore_url,
            self.settings.data_dir,
            self.settings.pg_tools_dir,
        )

    def close(self) -> None:
        self.screening.close()
        self.db.dispose()
        if self.vault_keys is not None:
            self.vault_keys.close()


# -- job handlers (each a thin call into a domain function) ---------------------------------
def _lease(rt: Runtime) -> dt.timedelta:
    return dt.timedelta(seconds=rt.settings.job_lease_seconds)


def _deliver(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    status = outbox.deliver(
        rt.db.session,
        rt.keys,
        rt.transports,
        int(payload["message_id"]),
        _lease(rt),
        rt.vault_keys,
    )
    return {"status": status}


def _flush_outbox(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    if not rt.transports:
        return {"sent": 0}
    sent = 0
    with rt.db.session() as session:
        ids = outbox.pending_ids(session)
    for message_id in ids:
        try:
            status = outbox.deliver(
                rt.db.session, rt.keys, rt.transports, message_id, _lease(rt), rt.vault_keys
            )
        except outbox.DeliveryDeferred:
            continue  # tried again by its own job or the next flush
        sent += status == "sent"
    return {"sent": sent}


def _recover(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    return {"resent": rt.jobs.recover()}


def _probe(_rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """Diagnostic job: sleeps, then reports. `honorbound jobs probe` checks a worker with it."""
    seconds = float(payload.get("sleep", 0))
    time.sleep(min(max(seconds, 0.0), 600.0))
    return {"slept": seconds, "finished_at": time.time()}


def _erase_subject(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.db.session() as session:
        erased = vault_erasure.erase_subject(
            session,
            rt.vault_keys,
            int(payload["organization_id"]),
            int(payload["subject_id"]),
            Actor.system(),
            str(payload.get("reason", "scheduled")),
        )
    return {"erased": erased.subject_ids, "keys_destroyed": erased.keys_destroyed}


def _notify_policy_change(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    org_id = int(payload["organization_id"])
    with rt.db.session() as session:
        org = session.get(Organization, org_id)
        url = (
            f"{rt.settings.base_url.rstrip('/')}/v1/public/orgs/{org.slug}/notice" if org else None
        )
        result = notify_material_change(
            session, rt.keys, rt.vault_keys, rt.jobs, org_id, int(payload["version_id"]), url
        )
    return {"subjects_notified": result.subjects_notified}


def _expire_backups(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    gone, pruned = backup_archive.expire(rt.epochs, rt.vault_keys, dt.datetime.now(dt.UTC))
    return {"epochs_destroyed": gone, "journal_pruned": pruned}


def _scrub_keystore(rt: Runtime, _payload: dict[str, Any]) -> dict[str, Any]:
    return {"scrubbed": rt.vault_keys.scrub()}


def build_registry() -> JobRegistry:
    registry = JobRegistry()
    registry.register(outbox.DELIVER_JOB, _deliver)
    registry.register("outbox.flush", _flush_outbox)
    registry.register("jobs.recover", _recover)
    registry.register("system.probe", _probe)
    registry.register("policy.notify_material_change", _notify_policy_change)
    registry.register(vault_erasure.ERASE_JOB, _erase_subject)
    registry.register(vault_idempotency.EXPIRE_JOB, vault_idempotency.expire_job)
    registry.register(rights_jobs.EXECUTE_JOB, rights_jobs.execute_job)
    registry.register(rights_jobs.SWEEP_JOB, rights_jobs.sweep_job)
    registry.register(rights_jobs.PURGE_JOB, rights_jobs.purge_job)
    registry.register(protocol_jobs.REPORT_JOB, protocol_jobs.report_job)
    registry.register(retention_jobs.SWEEP_JOB, retention_jobs.sweep_job)
    registry.register(audit_jobs.VERIFY_JOB, audit_jobs.verify_job)
    registry.register(systems_jobs.SWEEP_JOB, systems_jobs.sweep_job)
    registry.register(systems_jobs.SCAN_JOB, systems_jobs.scan_job)
    registry.register(BACKUP_EXPIRE_JOB, _expire_backups)
    registry.register(breach_reminders.REMIND_JOB, breach_reminders.remind_job)
    registry.register(keystore.SCRUB_JOB, _scrub_keystore)
    registry.register(recordings_jobs.SWEEP_JOB, recordings_jobs.sweep_job)
    registry.register(recordings_jobs.PCI_JOB, recordings_jobs.pci_job)
    registry.schedule(Periodic(rights_jobs.SWEEP_JOB, minute="7"))
    registry.schedule(Periodic(rights_jobs.PURGE_JOB, minute="17", hour="3"))
    registry.schedule(Periodic(retention_jobs.SWEEP_JOB, minute="41", hour="2"))
    registry.schedule(Periodic(audit_jobs.VERIFY_JOB, minute="53", hour="3"))
    registry.schedule(Periodic(systems_jobs.SWEEP_JOB, minute="11", hour="2"))
    registry.schedule(Periodic(BACKUP_EXPIRE_JOB, minute="29", hour="4"))
    registry.schedule(Periodic(breach_reminders.REMIND_JOB, minute="37"))
    registry.schedule(Periodic(keystore.SCRUB_JOB, minute="*/5"))
    registry.schedule(Periodic(recordings_jobs.SWEEP_JOB, minute="47", hour="2"))
    registry.schedule(Periodic(recordings_jobs.PCI_JOB, minute="13", hour="5"))
    registry.schedule(Periodic("outbox.flush", minute="*/5"))
    registry.schedule(Periodic(protocol_jobs.REPORT_JOB, minute="*"))
    registry.schedule(Periodic("jobs.recover", minute="*"))
    registry.schedule(Periodic(vault_idempotency.EXPIRE_JOB, minute="23", hour="*/6"))
    return registry


def build_huey(settings: Settings, immediate: bool = False) -> Huey:
    api = huey_api(redis=bool(settings.redis_url) and not immediate)
    if immediate:
        return api.MemoryHuey("honorbound", immediate=True)
    if settings.redis_url:
        return api.RedisHuey("honorbound", url=settings.redis_url)
    private_dir(settings.data_dir)
    private_sqlite_file(settings.job_queue_file)
    return api.SqliteHuey("honorbound", filename=str(settings.job_queue_file))


@lru_cache(maxsize=8)
def _rules(path: str | None, _mtime_ns: int) -> JurisdictionRules:
    return load_rules(Path(path) if path else None)


def read_rules(path: Path | None) -> JurisdictionRules:
    """The shipped rules with `path` merged over them; `DeclarationError` (every problem) or
    `OSError`. The only reader of the rules files: everything else gets `Runtime.rules`."""
    mtime = path.stat().st_mtime_ns if path is not None else 0
    return _rules(str(path) if path is not None else None, mtime)


def jurisdiction_rules(settings: Settings) -> JurisdictionRules:
    """The shipped jurisdiction rules with the configured override merged in. A missing or
    invalid override stops start-up with a sentence naming the setting and the first problem."""
    return rules_with_override(settings.rules_file, "HONORBOUND_RULES_FILE")


def rules_with_override(path: Path | None, setting: str = "--rules") -> JurisdictionRules:
    """The shipped rules with `path` merged over them (the only place they are loaded)."""
    try:
        return read_rules(path)
    except OSError as exc:
        raise ConfigError(
            f"{setting}: cannot read {path} ({exc.strerror or 'unreadable'})."
        ) from None
    except DeclarationError as exc:
        first = exc.problems[0]
        raise ConfigError(f"{setting}: {first.file}:{first.line}: {first.message}") from None


def read_contact_rules(path: Path | None) -> ContactRules:
    """The shipped contact rules with the `contact_rules` section of `path` merged over them;
    `ValueError` naming the file and the problem, `DeclarationError` or `OSError`."""
    return load_contact_rules(path)


def contact_rules(settings: Settings) -> ContactRules:
    """The contact rules with the configured override's `contact_rules` section; a bad section
    stops start-up with a sentence naming the setting and the problem."""
    path = settings.rules_file
    try:
        return read_contact_rules(path)
    except OSError as exc:
        raise ConfigError(
            f"HONORBOUND_RULES_FILE: cannot read {path} ({exc.strerror or 'unreadable'})."
        ) from None
    except DeclarationError as exc:
        first = exc.problems[0]
        where = f"{first.file}:{first.line}"
        raise ConfigError(f"HONORBOUND_RULES_FILE: {where}: {first.message}") from None
    except ValueError as exc:
        raise ConfigError(f"HONORBOUND_RULES_FILE: {exc}") from None


def db_limits(settings: Settings) -> Limits:
    """Pool and lock waits from the settings: a connection for every request slot (see
    `Settings.http_concurrency`), no overflow beyond it, every wait bounded."""
    return Limits(
        pool_size=settings.resolved_db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        lock_timeout=settings.db_lock_timeout,
    )


def build_runtime(
    settings: Settings, immediate_jobs: bool = False, transports: bool = True
) -> Runtime:
    """Wire everything. `immediate_jobs` runs jobs in-process as they are queued (tests, CLI).
    `transports=False` (the web server) leaves out mail and SMS transports: that process can
    then never talk to a mail server, which only the worker does."""
    rules = jurisdiction_rules(settings)
    contact = contact_rules(settings)
    limits = db_limits(settings)
    private_dir(settings.data_dir)
    db = Database(settings.resolved_database_url, limits)
    keys = KeyRing(load_master_key(settings))
    registry = build_registry()
    huey = build_huey(settings, immediate_jobs)
    senders: dict[str, Transport] = {}
    if settings.smtp_url and transports:
        senders["email"] = SmtpTransport(settings.smtp_url, settings.mail_from)
    if settings.sms_gateway and transports:
        # httpx (about 20 MB) only in the process that sends text messages (the worker).
        from honorbound.notify.sms_gateway import HttpSmsTransport

        senders["sms"] = HttpSmsTransport(
            settings.sms_gateway,
            settings.sms_gateway_secret,
            url=settings.sms_gateway_url,
            account=settings.sms_gateway_account,
            sender=settings.sms_from,
            timeout=settings.sms_gateway_timeout,
        )
    runtime = Runtime(settings, db, keys, registry, huey, None, rules, senders)  # type: ignore[arg-type]
    runtime.contact_rules = contact
    runtime.rule_book = RuleBook(rules, lambda: rules_data(settings.rules_file))
    runtime.vault_keys = KeyStore(
        settings.resolved_keystore_url,
        keys,
        journal_file=settings.erasure_journal_file,
        limits=limits,
    )
    runtime.epochs = EpochKeys(
        settings.resolved_backup_keys_file,
        keys,
        Policy(settings.backup_epoch_days, settings.backup_retention_days),
    )
    runtime.decisions = consent_service.build_engine(keys, runtime.vault_keys, rules, contact)
    runtime.screening = ScreeningPool(settings.ingest_screening_processes)
    runtime.rate_limits = RateLimits(db, keys.derived("web:rate-limit-keys"), LIMITS)
    runtime.jobs = JobQueue(db, huey, registry, runtime, settings.job_lease_seconds)
    event.listen(db.sessions, "after_commit", runtime.jobs.after_commit)
    event.listen(db.sessions, "after_soft_rollback", lambda s, _t: runtime.jobs.after_rollback(s))
    return runtime


def register_periodic(runtime: Runtime) -> None:
    """Worker only: queue each scheduled job as a durable row when its time comes."""
    crontab = huey_api().crontab
    for periodic in runtime.registry.periodic:
        schedule = crontab(
            periodic.minute, periodic.hour, periodic.day, periodic.month, periodic.day_of_week
        )

        def queue_it(name: str = periodic.name) -> None:
            with runtime.db.session() as session:
                runtime.jobs.enqueue(session, name)

        runtime.huey.periodic_task(schedule, name=f"periodic.{periodic.name}")(queue_it)
