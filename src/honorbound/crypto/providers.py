"""Where the master key comes from: key-encryption-key providers.

Everything Honorbound encrypts hangs off one 32-byte master key (crypto/keys.py): organization
keys, blind indexes, link and session signing, backup epoch keys. A provider hands that key to
the process at start-up:

- `FileProvider`: the key in clear in a 0600 file (or HONORBOUND_MASTER_KEY). Simple; the key
  sits on the same machine as the data.
- `Pkcs11Provider`: the key stored only *wrapped* (AES-256-GCM) by a key that never leaves a
  PKCS#11 token (a hardware HSM, a cloud HSM's PKCS#11 library, or SoftHSM2 for tests). At
  start-up the token unwraps it; a copy of the disk without the token opens nothing.

Moving from the file to a token re-wraps the same master key (`wrap_with_token`), so no data is
re-encrypted. Limit: once unwrapped the key is in the server's memory, as with the file.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from honorbound.crypto.keys import MasterKeyError, derive, read_key_file

WRAPPED_FORMAT = "honorbound-wrapped-master/1"


class MasterKeyProvider(Protocol):
    def load(self) -> bytes: ...
    def describe(self) -> str: ...


def check_value(master: bytes) -> str:
    """A short value derived from the key, to tell whether an unwrapped key is the right one."""
    return derive(master, "master-key-check", 8).hex()


@dataclass(frozen=True)
class FileProvider:
    path: Path
    value: str = ""  # HONORBOUND_MASTER_KEY, when set

    def load(self) -> bytes:
        return bytes.fromhex(self.value) if self.value else read_key_file(self.path)

    def describe(self) -> str:
        return "HONORBOUND_MASTER_KEY" if self.value else f"file {self.path}"


@dataclass(frozen=True)
class Pkcs11Config:
    module: Path
    token_label: str
    pin: str
    key_label: str
    wrapped_file: Path


def _aad(key_label: str) -> bytes:
    return f"honorbound-master-key|{key_label}".encode()


class Pkcs11Provider:
    """The master key unwrapped by a PKCS#11 token (python-pkcs11)."""

    def __init__(self, config: Pkcs11Config) -> None:
        self.config = config

    def describe(self) -> str:
        return f"PKCS#11 token {self.config.token_label!r}, key {self.config.key_label!r}"

    def _session(self, rw: bool = False) -> Any:
        try:
            import pkcs11
        except ImportError:
            raise MasterKeyError(
                "the PKCS#11 provider needs python-pkcs11: pip install 'honorbound[hsm]'"
            ) from None
        try:
            lib = pkcs11.lib(str(self.config.module))
        except pkcs11.PKCS11Error as exc:
            raise MasterKeyError(
                f"HONORBOUND_PKCS11_MODULE: cannot load {self.config.module} ({exc})"
            ) from None
        try:
            token = lib.get_token(token_label=self.config.token_label)
        except pkcs11.NoSuchToken:
            raise MasterKeyError(
                f"HONORBOUND_PKCS11_TOKEN_LABEL: no token labelled {self.config.token_label!r}"
            ) from None
        except pkcs11.MultipleTokensReturned:
            raise MasterKeyError(
                f"HONORBOUND_PKCS11_TOKEN_LABEL: several tokens are labelled "
                f"{self.config.token_label!r}; give each a unique label"
            ) from None
        try:
            return token.open(user_pin=self.config.pin, rw=rw)
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
            raise MasterKeyError("HONORBOUND_PKCS11_PIN: the token refused the PIN") from None
        except pkcs11.PinLocked:
            raise MasterKeyError(
                "the token's user PIN is locked; unlock it with the SO PIN"
            ) from None

    def _key(self, session: Any, create: bool = False) -> Any:
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass

        try:
            return session.get_key(
                label=self.config.key_label,
                key_type=KeyType.AES,
                object_class=ObjectClass.SECRET_KEY,
            )
        except pkcs11.NoSuchKey:
            if not create:
                raise MasterKeyError(
                    f"HONORBOUND_PKCS11_KEY_LABEL: the token holds no AES key labelled "
                    f"{self.config.key_label!r}"
                ) from None
        except pkcs11.MultipleObjectsReturned:
            raise MasterKeyError(
                f"HONORBOUND_PKCS11_KEY_LABEL: several keys are labelled {self.config.key_label!r}"
            ) from None
        return session.generate_key(
            KeyType.AES,
            256,
            label=self.config.key_label,
            store=True,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.ENCRYPT: True,
                Attribute.DECRYPT: True,
            },
        )

    def load(self) -> bytes:
        import pkcs11
        from pkcs11 import GCMParams, Mechanism

        doc = _read_wrapped(self.config.wrapped_file)
        if doc.get("key_label") != self.config.key_label:
            raise MasterKeyError(
                f"{self.config.wrapped_file} was wrapped by key {doc.get('key_label')!r}, not "
                f"{self.config.key_label!r} (HONORBOUND_PKCS11_KEY_LABEL)"
            )
        try:
            nonce = bytes.fromhex(str(doc["nonce"]))
            sealed = bytes.fromhex(str(doc["ciphertext"]))
        except (KeyError, ValueError):
            raise MasterKeyError(
                f"{self.config.wrapped_file}: nonce or ciphertext unreadable"
            ) from None
        with self._session() as session:
            key = self._key(session)
            try:
                master = bytes(
                    key.decrypt(
                        sealed,
                        mechanism=Mechanism.AES_GCM,
                        mechanism_param=GCMParams(nonce, _aad(self.config.key_label), 128),
                    )
                )
            except pkcs11.PKCS11Error:
                raise MasterKeyError(
                    f"the token could not unwrap {self.config.wrapped_file}: it was wrapped by "
                    "another key or has been altered"
                ) from None
        if len(master) != 32 or check_value(master) != doc.get("check"):
            raise MasterKeyError(f"{self.config.wrapped_file}: the unwrapped key fails its check")
        return master

    def wrap(self, master: bytes, create_key: bool) -> None:
        """Write `wrapped_file` holding `master` wrapped by the token's key (made if asked)."""
        from pkcs11 import GCMParams, Mechanism

        if self.config.wrapped_file.exists():
            raise MasterKeyError(
                f"{self.config.wrapped_file} exists already; it is never overwritten"
            )
        nonce = secrets.token_bytes(12)
        with self._session(rw=True) as session:
            key = self._key(session, create=create_key)
            sealed = bytes(
                key.encrypt(
                    master,
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(nonce, _aad(self.config.key_label), 128),
                )
            )
        doc = {
            "format": WRAPPED_FORMAT,
            "provider": "pkcs11",
            "key_label": self.config.key_label,
            "nonce": nonce.hex(),
            "ciphertext": sealed.hex(),
            "check": check_value(master),
        }
        self.config.wrapped_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config.wrapped_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            json.dump(doc, handle)
            handle.flush()
            os.fsync(handle.fileno())


def _read_wrapped(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MasterKeyError(
            f"no wrapped master key: {path} does not exist; run `honorbound keys move-to-hsm`"
        ) from None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise MasterKeyError(f"{path}: not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != WRAPPED_FORMAT:
        raise MasterKeyError(f"{path}: not a {WRAPPED_FORMAT} file")
    return doc


def shred_file(path: Path) -> None:
    """Overwrite a key file with zeros, then remove it (see docs/vault.md for the limits of an
    overwrite on copy-on-write filesystems)."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
