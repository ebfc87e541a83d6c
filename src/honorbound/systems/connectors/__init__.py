"""Connectors, one per kind of system, chosen by the map's `connection.type`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honorbound.systems.connectors.base import Connector, ConnectorSettings
from honorbound.systems.maps import SystemMap


def open_connector(
    system: SystemMap, settings: ConnectorSettings, environ: Mapping[str, str] | None = None
) -> Any:
    """The connector for `system` (sql, files: `Connector`; webhook: `call`; manual: tasks);
    secrets are read now (raises `ConnectionFailed`)."""
    if system.type == "sql":
        from honorbound.systems.connectors.sql import SqlConnector

        return SqlConnector(system, settings, environ)
    if system.type == "files":
        from honorbound.systems.connectors.files import FilesConnector

        return FilesConnector(system, settings, environ)
    if system.type == "webhook":
        from honorbound.systems.connectors.webhook import WebhookConnector

        return WebhookConnector(system, settings, environ)
    from honorbound.systems.connectors.manual import ManualConnector

    return ManualConnector(system, settings, environ)


__all__ = ["Connector", "ConnectorSettings", "open_connector"]
