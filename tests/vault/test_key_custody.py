"""Key custody in a real PKCS#11 token (SoftHSM2 from Debian, initialised here): an installation
moves its master key from the file into the token's custody without re-encrypting anything, then
starts and reads its data with the key unwrapped by the token; a wrong PIN, a missing token or key
and an altered wrapped file each stop start-up with one sentence. Every step runs the real command
line in its own process (a PKCS#11 library is initialised once per process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from honorbound.audit import Actor
from honorbound.config import Settings
from honorbound.runtime import build_runtime
from honorbound.vault.collection import add_record
from honorbound.vault.identities import IdentityKind
from honorbound.vault.models import Record
from honorbound.vault.rules import CollectionRules
from honorbound.vault.subjects import IdentityInput, upsert_subject
from tests.support.people import person

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "4711-user-pin"

pytestmark = pytest.mark.skipif(
    not MODULE.exists() and os.environ.get("CI") != "true",
    reason="SoftHSM2 is not installed (Debian package softhsm2; .ci/run installs it)",
)

READ_BACK = """
import sys
from sqlalchemy import select
from honorbound.config import load_settings
from honorbound.runtime import build_runtime
from honorbound.vault.models import Record, Subject
from honorbound.vault.sealing import open_text
rt = build_runtime(load_settings())
with rt.db.session() as s:
    record = s.scalars(select(Record)).one()
    subject = s.get(Subject, record.subject_id)
    dek = rt.vault_keys.data_key(record.organization_id, subject.key_id)
    value = open_text(dek, record.organization_id, subject.key_id,
                      "record:" + record.category, record.value_sealed)
sys.stdout.write("match" if value == sys.argv[1] else "different")
"""

EXTRACT = """
import pkcs11, sys
from pkcs11 import Attribute, KeyType, ObjectClass
token = pkcs11.lib(sys.argv[1]).get_token(token_label=sys.argv[2])
with token.open(user_pin=sys.argv[3]) as s:
    key = s.get_key(label="honorbound-master-wrap", key_type=KeyType.AES,
                    object_class=ObjectClass.SECRET_KEY)
    try:
        key[Attribute.VALUE]
    except pkcs11.AttributeSensitive:
        sys.stdout.write("sensitive")
    else:
        sys.stdout.write("EXTRACTED")
"""


@pytest.fixture
def token(tmp_path: Path) -> dict[str, str]:
    """A fresh SoftHSM2 token in a directory of this test."""
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    util = shutil.which("softhsm2-util") or "/usr/bin/softhsm2-util"
    done = subprocess.run(
        [util, "--init-token", "--free", "--label", "honorbound-test", "--pin", PIN,
         "--so-pin", "so-pin-0815"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {"SOFTHSM2_CONF": str(conf)}


def _env(settings: Settings, token: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONORBOUND_")}
    env.update(token)
    env.update(
        {
            "HONORBOUND_DATA_DIR": str(settings.data_dir),
            "HONORBOUND_DATABASE_URL": settings.resolved_database_url,
            "HONORBOUND_KEYSTORE_URL": settings.resolved_keystore_url,
            "HONORBOUND_PKCS11_MODULE": str(MODULE),
            "HONORBOUND_PKCS11_TOKEN_LABEL": "honorbound-test",
            "HONORBOUND_PKCS11_PIN": PIN,
            **extra,
        }
    )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_master_key_moves_into_the_token_and_the_data_stays_readable(
    settings: Settings, token: dict[str, str], rules: CollectionRules
) -> None:
    # An installation with the file provider and one person's record.
    file_settings = settings.model_copy(update={"master_key": ""})
    env = _env(file_settings, token)
    init = _run(env, "-m", "honorbound", "init", "--org-slug", "acme")
    assert init.returncode == 0, init.stderr
    key_file = file_settings.resolved_master_key_file
    assert key_file.exists()
    rt = build_runtime(file_settings)
    someone = person()
    with rt.db.session() as s:
        subject = upsert_subject(
            s, rt.vault_keys, 1, [IdentityInput(IdentityKind.EMAIL, someone.email)],
            Actor("test", "agent"), rules,
        ).subject  # fmt: skip
        add_record(
            s, rt.vault_keys, 1, subject.id, "user.contact.email", someone.email, ["billing"],
            "directly", Actor("test", "agent"), rules,
        )  # fmt: skip
    with rt.db.session() as s:
        sealed_before = bytes(s.query(Record).one().value_sealed)
    rt.close()

    moved = _run(env, "-m", "honorbound", "keys", "move-to-hsm", "--create-key",
                 "--remove-key-file")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert "no data was re-encrypted" in moved.stdout
    assert not key_file.exists()
    wrapped = file_settings.resolved_wrapped_master_key_file
    assert oct(wrapped.stat().st_mode & 0o777) == "0o600"

    # Without the token nothing starts: the file provider has no key any more.
    no_key = _run(env, "-c", READ_BACK, someone.email)
    assert no_key.returncode != 0 and "master key" in no_key.stderr
    hsm = _env(file_settings, token, HONORBOUND_KEY_PROVIDER="pkcs11")
    read = _run(hsm, "-c", READ_BACK, someone.email)
    assert read.returncode == 0, read.stderr
    assert read.stdout == "match"
    # The data was not re-encrypted, and the token's key cannot be read out.
    rt = build_runtime(settings)
    rt.close()
    check = _run(hsm, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                 ".execute('select value_sealed from vault_records').fetchone()[0].hex())",
                 file_settings.resolved_database_url.removeprefix("sqlite:///"))  # fmt: skip
    if file_settings.resolved_database_url.startswith("sqlite"):
        assert check.stdout.strip() == sealed_before.hex()
    extract = _run(hsm, "-c", EXTRACT, str(MODULE), "honorbound-test", PIN)
    assert extract.stdout == "sensitive", extract.stderr


def test_bad_custody_settings_stop_start_up_with_one_sentence(
    settings: Settings, token: dict[str, str]
) -> None:
    file_settings = settings.model_copy(update={"master_key": ""})
    env = _env(file_settings, token, HONORBOUND_KEY_PROVIDER="pkcs11")
    # First start with the provider: init makes the token key and the wrapped master key.
    init = _run(env, "-m", "honorbound", "init", "--org-slug", "acme")
    assert init.returncode == 0, init.stderr
    wrapped = file_settings.resolved_wrapped_master_key_file
    assert wrapped.exists() and not file_settings.resolved_master_key_file.exists()
    status = ["-m", "honorbound", "keys", "status", "--org", "acme"]
    assert _run(env, *status).returncode == 0

    cases = {
        "refused the PIN": {"HONORBOUND_PKCS11_PIN": "0000-wrong"},
        "no token labelled": {"HONORBOUND_PKCS11_TOKEN_LABEL": "no-such-token"},
        "was wrapped by key": {"HONORBOUND_PKCS11_KEY_LABEL": "other-key"},
        "cannot load": {"HONORBOUND_PKCS11_MODULE": "/nonexistent/libpkcs11.so"},
        "needs HONORBOUND_PKCS11_MODULE": {"HONORBOUND_PKCS11_MODULE": ""},
    }
    for expected, change in cases.items():
        bad = {**env, **change}
        if not change.get("HONORBOUND_PKCS11_MODULE", "x"):
            del bad["HONORBOUND_PKCS11_MODULE"]
        done = _run(bad, *status)
        assert done.returncode == 2 and expected in done.stderr, (expected, done.stderr)
        assert "Traceback" not in done.stderr
    original = wrapped.read_text()
    wrapped.write_text(original.replace('"ciphertext": "', '"ciphertext": "00', 1))
    altered = _run(env, *status)
    assert altered.returncode == 2 and "could not unwrap" in altered.stderr
    wrapped.write_text("not json")
    assert "not JSON" in _run(env, *status).stderr
    wrapped.write_text(original)
    assert _run(env, *status).returncode == 0
