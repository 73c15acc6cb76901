"""The one place that finds files under `resources/`, from source and from a frozen bundle."""

import sys
from pathlib import Path

from app.errors import AQPLError


def resources_dir() -> Path:
    """Folder holding icons, the embedded dataset and defaults.

    PyInstaller unpacks data next to `sys._MEIPASS`; from source (or an editable
    install) the folder sits beside the `app` package at the project root.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise AQPLError(
            f"resource '{'/'.join(parts)}' is missing from {resources_dir()}: reinstall AQPL Studio "
            "(from source: `pip install -e .` in the project folder)"
        )
    return path
