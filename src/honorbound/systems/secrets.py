"""Connection secrets: read from the environment or a file when a connector opens, never kept
in the map or the database. A map names where the secret is (`url_env`, `url_file`,
`secret: {env: ...}`); `systems check` refuses a password written in the map itself."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from honorbound.systems.errors import ConnectionFailed
from honorbound.systems.maps import SecretRef, SystemMap

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _read_file(system: str, path: str, field: str) -> str:
    file = Path(path)
    try:
        mode = file.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConnectionFailed(
                system,
                f"the secret file {path} can be read by others (mode {stat.S_IMODE(mode):04o}); "
                f"run chmod 600 {path}",
                field,
            )
        return file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConnectionFailed(
            system, f"cannot read the secret file {path} ({exc.strerror or 'unreadable'})", field
        ) from None


def _env(system: str, name: str, field: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if not value:
        raise ConnectionFailed(system, f"the environment variable {name} is not set", field)
    return value


def secret(system: str, ref: SecretRef, field: str, environ: Mapping[str, str]) -> str:
    if ref.env is not None:
        return _env(system, ref.env, field, environ)
    assert ref.file is not None
    return _read_file(system, ref.file, field)


def connection_url(system: SystemMap, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    spec = system.connection
    if spec.url_env:
        return _env(system.key, spec.url_env, "connection.url_env", env)
    if spec.url_file:
        return _read_file(system.key, spec.url_file, "connection.url_file")
    if not spec.url:
        raise ConnectionFailed(
            system.key, "the connection names no url (url, url_env or url_file)", "connection"
        )
    return _VAR.sub(lambda m: _env(system.key, m.group(1), "connection.url", env), spec.url)


def storage_options(
    system: SystemMap, environ: Mapping[str, str] | None = None
) -> dict[str, object]:
    env = os.environ if environ is None else environ
    options: dict[str, object] = dict(system.connection.options)
    for name, ref in system.connection.secret_options.items():
        options[name] = secret(system.key, ref, f"connection.secret_options.{name}", env)
    return options


def signing_secret(system: SystemMap, environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    if system.connection.secret is None:
        raise ConnectionFailed(
            system.key, "a webhook system needs `secret` (env or file)", "connection.secret"
        )
    return secret(system.key, system.connection.secret, "connection.secret", env).encode()


def password_in(url: str) -> bool:
    """True when a URL written in a map carries a password in clear."""
    if _VAR.search(url.split("@")[0]):
        return False
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def redacted(url: str) -> str:
    """The URL as it may be printed: no password, no query string."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"
