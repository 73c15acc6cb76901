"""settings.toml: the project's settings, human-readable and hand-editable.

Written here (the standard library reads TOML but does not write it); read back with tomllib.
`None` values are left out: TOML has no null, and every optional setting defaults to None.
"""

import json
import math
import tomllib
from pathlib import Path

from app.errors import SettingsError
from app.engine.project.checkpoints import write_atomic
from app.engine.faults import ProjectError
from app.engine.settings import Settings
from app.engine.choices import validated

HEADER = (
    "# AQPL Studio project settings. You may edit values here (e.g. data_dir when the dataset\n"
    "# moved); they are checked when the project is opened. Names: see docs/headless.md, \"Settings\".\n"
)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # always has a '.' or an exponent: a TOML float
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(settings: Settings) -> str:
    lines = [HEADER]
    for name, value in settings.to_dict().items():
        if value is not None:
            lines.append(f"{name} = {_value(value)}")
    return "\n".join(lines) + "\n"


def write_settings(path: Path, settings: Settings) -> None:
    write_atomic(path, dumps(settings).encode(), "save the settings")


def _check_dataset(settings: Settings) -> None:
    """The dataset names (Settings.validate does not check them): an unknown one would
    otherwise read as "other settings" at open and send the user to a fix that loses answers."""
    from app.engine.data.registry import DATASETS

    if not isinstance(settings.dataset, str) or settings.dataset not in DATASETS:
        raise SettingsError(
            f"unknown dataset {settings.dataset!r}: choose one of {', '.join(DATASETS)} (the dataset line of this file)"
        )
    if settings.image_size is not None and settings.dataset != "imagefolder":
        raise SettingsError(
            f"image_size = {settings.image_size} applies only to dataset \"imagefolder\" ({settings.dataset} images are "
            "used at their own size): remove the image_size line"
        )


def read_settings(path: Path) -> Settings:
    """Parse and validate; every problem is one line that names the file."""
    if not path.is_file():
        raise ProjectError(f"{path} is missing: restore it from a backup, or create a new project with the same settings")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML ({exc}): fix that line") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise ProjectError(f"{path} cannot be read ({exc.strerror or exc}): check its permissions") from None
    try:
        settings = Settings.from_dict(data)
        if isinstance(settings.budget, (int, float)):
            settings.budget = str(settings.budget)
        validated(settings)
        _check_dataset(settings)
        return settings
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{path}: a value has the wrong type ({exc}): compare with a freshly created project") from None
