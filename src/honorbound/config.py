"""Typed settings, read from HONORBOUND_* environment variables and an optional TOML file.

A wrong value stops start-up with one sentence that names the variable (`ConfigError`).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from honorbound.errors import HonorboundError

ENV_PREFIX = "HONORBOUND_"


class ConfigError(HonorboundError):
    """A configuration value is missing or wrong; the message names the variable."""

    status = 500
    title = "Configuration error"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for the embedded databases, key files and job queue.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the data database. Empty: SQLite file in data_dir.",
    )
    keystore_url: str = Field(
        default="",
        description="SQLAlchemy URL of the key store (kept apart from the data database). "
        "Empty: SQLite file keys.db in data_dir.",
    )
    master_key: str = Field(
        default="",
        description="Master key, 64 hex characters. Empty: read from master_key_file.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="File holding the master key (created by `honorbound init`, mode 0600). "
        "Default: data_dir/master.key.",
    )
    key_provider: Literal["file", "pkcs11"] = Field(
        default="file",
        description="Where the master key comes from: `file` (master_key_file or master_key) or "
        "`pkcs11` (wrapped by a key inside an HSM; see docs/vault.md, Key custody).",
    )
    pkcs11_module: Path | None = Field(
        default=None,
        description="PKCS#11 library of the HSM, e.g. /usr/lib/softhsm/libsofthsm2.so.",
    )
    pkcs11_token_label: str = Field(default="", description="Label of the PKCS#11 token.")
    pkcs11_pin: str = Field(default="", description="User PIN of the token (or pkcs11_pin_file).")
    pkcs11_pin_file: Path | None = Field(
        default=None, description="File holding the token's user PIN (mode 0600)."
    )
    pkcs11_key_label: str = Field(
        default="honorbound-master-wrap",
        description="Label of the AES key inside the token that wraps the master key.",
    )
    wrapped_master_key_file: Path | None = Field(
        default=None,
        description="The master key wrapped by the token's key. Default: data_dir/master.key.hsm.",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs session cookies and links (32+ characters). "
        "Empty: derived from the master key.",
    )
    smtp_url: str = Field(
        default="",
        description="smtp://[user:password@]host:port or smtps://... . Empty: mail stays in the "
        "outbox, viewable by staff.",
    )
    mail_from: str = Field(default="privacy@honorbound.invalid", description="From: address.")
    sms_gateway: Literal["", "generic", "twilio", "vonage"] = Field(
        default="",
        description="SMS transport: `generic` (your HTTP gateway, HMAC-signed JSON), `twilio` or "
        "`vonage`. Empty: texts (STOP confirmations, HELP answers) stay in the outbox.",
    )
    sms_gateway_url: str = Field(
        default="",
        description="The gateway's send URL (required for `generic`; Twilio and Vonage default "
        "to their public API).",
    )
    sms_gateway_account: str = Field(
        default="", description="Twilio Account SID or Vonage API key (not used by `generic`)."
    )
    sms_gateway_secret: str = Field(
        default="",
        description="HMAC signing secret (`generic`), Twilio Auth Token or Vonage API secret.",
    )
    sms_from: str = Field(
        default="",
        description="Sending number (E.164) for texts that do not name one; replies to a "
        "STOP or HELP always go from the number that received it.",
    )
    sms_gateway_timeout: float = Field(
        default=15.0, gt=0, le=120, description="Seconds to wait for the SMS gateway's answer."
    )
    redis_url: str = Field(
        default="", description="redis://host:port/db for the job queue. Empty: SQLite queue."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL, used in links sent to people.",
    )
    host: str = Field(default="127.0.0.1", description="Address `honorbound serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `honorbound serve` binds.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (bytes)."
    )
    max_bulk_body_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        description="Largest body accepted by bulk endpoints (`/v1/contact-decisions`: "
        "100,000 items are about 8 MB).",
    )
    ingest_screening_processes: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Processes that screen bulk ingest's texts (`POST /v1/interactions/bulk`, "
        "`honorbound ingest`) while the batch before is written; started on the first bulk "
        "batch. 0: screen in the request's own thread.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level."
    )
    log_file: Path | None = Field(default=None, description="Also write JSON logs to this file.")
    rules_file: Path | None = Field(
        default=None,
        description="YAML file whose rows override the shipped US jurisdiction rules "
        "(see docs/jurisdiction-rules.md); checked at start-up.",
    )
    job_lease_seconds: int = Field(
        default=300, ge=5, description="A running job not finished after this is run again."
    )
    erasure_journal_file: Path | None = Field(
        default=None,
        description="Also append every erasure (organization id and key id only) to this file, "
        "kept apart from the databases (another disk or host mount): `honorbound restore` "
        "replays it so an old backup cannot bring an erased person back even when the live "
        "key store is lost.",
    )
    backup_keys_file: Path | None = Field(
        default=None,
        description="File holding the backup epoch keys (mode 0600). Keep it with the master "
        "key, not with the backups. Default: data_dir/backup-keys.json.",
    )
    backup_epoch_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="Days one backup epoch key encrypts new backups before a new one starts.",
    )
    backup_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days backups are kept after their epoch ends; then the epoch key is "
        "destroyed and those backups can never be decrypted.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key that signs audit chain heads (`honorbound audit anchor`), "
        "kept outside the database (mode 0600; created on first use). Keep it apart from the "
        "database and its backups. Default: data_dir/audit-signing.key.",
    )
    pg_tools_dir: Path | None = Field(
        default=None,
        description="Directory of pg_dump/pg_restore for PostgreSQL backups. Empty: the newest "
        "under /usr/lib/postgresql, else PATH.",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Mark session cookies Secure (sent over HTTPS only). May be false only "
        "when running plain HTTP on loopback: host a loopback address and base_url http://.",
    )
    two_factor_roles: list[str] = Field(
        default=["admin", "privacy_officer"],
        description="Staff roles that must sign in with a TOTP code from an authenticator app "
        "after their password (set up at their first sign-in). Empty: nobody is made to, "
        "anybody may still set it up.",
    )
    # -- capacity: request slots, threads and connections are sized together ----------------
    http_concurrency: int = Field(
        default=32,
        ge=1,
        le=1000,
        description="Requests the web server works on at once. Each one holds a worker thread "
        "and at most one connection of each database; the thread pool is sized from this. "
        "Further requests wait their turn (up to http_queue_seconds).",
    )
    http_queue_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a request waits for a free slot before it is answered 503 with "
        "Retry-After (rather than hanging). 0: answer 503 at once when every slot is taken.",
    )
    db_pool_size: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Connections each process keeps per database. 0: http_concurrency + 8 "
        "(a connection for every request slot, the health check and the job threads). "
        "Must be at least http_concurrency.",
    )
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long a request waits for a free database connection before it is "
        "answered 503 with Retry-After.",
    )
    db_lock_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a write waits for a lock (SQLite busy timeout, PostgreSQL "
        "lock_timeout) before it gives up: a request is answered 503 with Retry-After and "
        "nothing is written; a job is retried.",
    )
    retry_after_seconds: int = Field(
        default=2,
        ge=1,
        le=3600,
        description="The Retry-After value (seconds) sent with a 503 when the server is busy.",
    )

    recordings_dir: Path | None = Field(
        default=None,
        description="Folder of the recording store (redacted call audio and transcripts, "
        "files 0600). Default: data_dir/recordings.",
    )
    recordings_url: str | None = Field(
        default=None,
        description="fsspec URL of the recording store when it is not the local folder "
        "(`s3://bucket/prefix`, `gcs://...`, `sftp://host/path`, `memory://name` for tests); "
        "the filesystem's package (s3fs...) must be installed and its credentials come from "
        "its usual environment. The inbox and the staging folder stay in recordings_dir. "
        "Default: none (recordings_dir holds the recordings).",
    )
    recordings_keep_original: bool = Field(
        default=False,
        description="Allow keeping the original, unredacted audio of ingested calls, sealed "
        "with the person's own key (needs the person named at ingest) when the adopted notice's "
        "call recording category says `originals: {keep: true, period}` too. Off: only the "
        "redacted copy is kept.",
    )
    recordings_max_upload_bytes: int = Field(
        default=1 << 30,
        ge=1024,
        description="Largest body of POST /v1/recordings/upload (audio, transcript and fields "
        "together), in bytes; larger is answered 413. The upload is streamed to disk.",
    )
    recordings_pad_before: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="Seconds of audio redacted before each finding's first word.",
    )
    recordings_pad_after: float = Field(
        default=0.2,
        ge=0,
        le=10,
        description="Seconds of audio redacted after each finding's last word.",
    )
    recordings_sound: Literal["tone", "silence"] = Field(
        default="tone",
        description="What replaces a redacted span: a 1 kHz `tone` or `silence`. Keypad tones "
        "and paused stretches are always silence.",
    )

    # -- request protocols (docs/protocols.md) ---------------------------------------------
    callback_allow_networks: list[str] = Field(
        default=[],
        description="Networks (CIDR, e.g. 10.20.0.0/16) that agent and controller callback "
        "URLs may reach although they are private, loopback or link-local, and where plain "
        "http:// is allowed. Empty: callbacks go only to public https:// addresses (no "
        "request forgery into your network).",
    )
    callback_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds to wait for an agent's or "
        "controller's callback endpoint to answer.",
    )  # fmt: skip
    opendsr_key_file: Path | None = Field(
        default=None,
        description="ECDSA P-256 key (PEM, mode 0600; created on first use) that signs "
        "OpenDSR responses and callbacks. Default: data_dir/opendsr-signing.key.",
    )
    opendsr_certificate_file: Path | None = Field(
        default=None,
        description="The CA-issued certificate (PEM) of the OpenDSR signing key, served at "
        "/v1/discovery/processor-certificate.pem. Empty: a self-signed one kept beside the key "
        "(OpenDSR s.4.1 asks for a CA-issued one).",
    )

    @field_validator("callback_allow_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network such as 127.0.0.0/8") from None
        return value

    @field_validator("database_url", "keystore_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("must be a URL such as sqlite:///var/honorbound.db")
        return value

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: str) -> str:
        if value:
            try:
                raw = bytes.fromhex(value)
            except ValueError as exc:
                raise ValueError("must be 64 hexadecimal characters") from exc
            if len(raw) != 32:
                raise ValueError("must be 64 hexadecimal characters (32 bytes)")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps://")
        return value

    @model_validator(mode="after")
    def _check_sms_gateway(self) -> Settings:
        if not self.sms_gateway:
            return self
        if not self.sms_gateway_secret:
            raise ValueError(f"{ENV_PREFIX}SMS_GATEWAY_SECRET is needed for the SMS gateway")
        if self.sms_gateway == "generic" and not self.sms_gateway_url:
            raise ValueError(f"{ENV_PREFIX}SMS_GATEWAY_URL is needed for the generic SMS gateway")
        if self.sms_gateway != "generic" and not self.sms_gateway_account:
            raise ValueError(
                f"{ENV_PREFIX}SMS_GATEWAY_ACCOUNT (Account SID or API key) is needed for "
                f"{self.sms_gateway}"
            )
        if self.sms_gateway_url and not self.sms_gateway_url.startswith(("https://", "http://")):
            raise ValueError(f"{ENV_PREFIX}SMS_GATEWAY_URL must start with https:// or http://")
        return self

    @model_validator(mode="after")
    def _check_capacity(self) -> Settings:
        if self.db_pool_size and self.db_pool_size < self.http_concurrency:
            raise ValueError(
                f"{ENV_PREFIX}DB_POOL_SIZE ({self.db_pool_size}) must be at least "
                f"{ENV_PREFIX}HTTP_CONCURRENCY ({self.http_concurrency}): every request being "
                "served may hold a connection, and a smaller pool makes requests wait on each other"
            )
        return self

    @model_validator(mode="after")
    def _check_cookies(self) -> Settings:
        if not self.secure_cookies and (
            not _loopback(self.host) or self.base_url.lower().startswith("https://")
        ):
            raise ValueError(
                f"{ENV_PREFIX}SECURE_COOKIES may be false only for plain HTTP on loopback "
                f"({ENV_PREFIX}HOST 127.0.0.1, ::1 or localhost and an http:// "
                f"{ENV_PREFIX}BASE_URL): anywhere else the session cookie must be Secure"
            )
        return self

    @property
    def resolved_db_pool_size(self) -> int:
        return self.db_pool_size or self.http_concurrency + 8

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'honorbound.db'}"

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite:///{self.data_dir / 'keys.db'}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_wrapped_master_key_file(self) -> Path:
        return self.wrapped_master_key_file or self.data_dir / "master.key.hsm"

    @property
    def resolved_backup_keys_file(self) -> Path:
        return self.backup_keys_file or self.data_dir / "backup-keys.json"

    @property
    def resolved_recordings_dir(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def recordings_store(self) -> Path | str:
        """Where stored recordings are: recordings_url, else the local folder."""
        return self.recordings_url or self.resolved_recordings_dir

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit-signing.key"

    @property
    def resolved_opendsr_key_file(self) -> Path:
        return self.opendsr_key_file or self.data_dir / "opendsr-signing.key"

    @property
    def job_queue_file(self) -> Path:
        return self.data_dir / "jobs.db"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    variable = ENV_PREFIX + loc.upper() if loc else "configuration"
    message = str(error.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    if not loc:  # a check across settings names its variables itself
        return f"{message}."
    if error.get("type") == "extra_forbidden":
        return f"{variable} is not a known setting; see docs/configuration.md for the list."
    return f"{variable} {message[0].lower() + message[1:] if message else 'is invalid'}."


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, an optional TOML file and explicit overrides.

    Precedence: overrides > environment > TOML file > defaults. The TOML file is named by
    `config_file` or HONORBOUND_CONFIG; its keys are the setting names in lower case.
    """
    file_values: dict[str, Any] = {}
    path = config_file or (
        Path(os.environ[f"{ENV_PREFIX}CONFIG"]) if os.environ.get(f"{ENV_PREFIX}CONFIG") else None
    )
    if path is not None:
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{ENV_PREFIX}CONFIG names {path}, which does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}.") from exc
        env_names = {k[len(ENV_PREFIX) :].lower() for k in os.environ if k.startswith(ENV_PREFIX)}
        file_values = {k: v for k, v in file_values.items() if k not in env_names}
    try:
        return Settings(**{**file_values, **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_describe(dict(first))) from None
