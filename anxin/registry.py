"""Opening the SQL records named by the settings."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from anxin.settings import Settings
from records.database import migrate, open_engine
from records.devices import DeviceRegistry


def open_database(settings: Settings) -> Engine:
    """The settings' database, its schema brought to the newest migration."""
    engine = open_engine(settings.database_url)
    migrate(engine)
    return engine


def open_registry(settings: Settings) -> DeviceRegistry:
    return DeviceRegistry(open_database(settings))
