"""What the application remembers between runs (QSettings): window layout, the last session's
settings, recent projects. The prediction display is deliberately not remembered: it starts
off every time, to avoid biasing the expert."""

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

RECENT_MAX = 8


class SettingsStore:
    def __init__(self, path: str | Path | None = None):
        """path: an INI file (tests); None: the platform's usual place for AQPL Studio."""
        if path is None:
            self.qsettings = QSettings("AQPL Studio", "AQPL Studio")
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

    # -- window layout ------------------------------------------------------------------------
    def save_layout(self, name: str, data: QByteArray) -> None:
        self.qsettings.setValue(f"layout/{name}", data)

    def layout(self, name: str) -> QByteArray | None:
        value = self.qsettings.value(f"layout/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- last session ---------------------------------------------------------------------------
    def save_last_session(self, overrides: dict) -> None:
        self.qsettings.setValue("session/last", json.dumps(overrides))

    def last_session(self) -> dict:
        try:
            value = json.loads(self.qsettings.value("session/last", "{}") or "{}")
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    # -- recent projects ----------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        try:
            value = json.loads(self.qsettings.value("projects/recent", "[]") or "[]")
        except (TypeError, ValueError):
            return []
        return [p for p in value if isinstance(p, str)]

    def add_recent_project(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_projects() if p != path]
        self.qsettings.setValue("projects/recent", json.dumps(recent[:RECENT_MAX]))

    def remove_recent_project(self, path: str) -> None:
        self.qsettings.setValue("projects/recent", json.dumps([p for p in self.recent_projects() if p != path]))

    def sync(self) -> None:
        self.qsettings.sync()
