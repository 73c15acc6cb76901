"""The answers database's format (answers.sqlite) and its read-only reader: the project's
AnswerStore (app/engine/project/answers.py) writes it, the replay oracle reads it."""

import math
import sqlite3
from pathlib import Path

from app.errors import AQPLError
from app.engine.faults import sqlite_error

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 3.0  # another program's write lock: wait this long, then tell the user

COLUMNS = (
    "id", "example_id", "level", "grid", "noise_seed", "time_taken_s", "wall_time",
    "round", "step", "source", "undone", "undone_wall_time",
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,          -- order of arrival
    example_id INTEGER NOT NULL,
    level REAL,                      -- NULL: the expert skipped the example
    grid TEXT NOT NULL,              -- JSON list: the candidate levels shown
    noise_seed INTEGER NOT NULL,     -- seed of the noise pattern shown
    time_taken_s REAL NOT NULL,
    wall_time REAL NOT NULL,         -- Unix time of the answer
    round INTEGER NOT NULL,          -- query round the example was asked in
    step INTEGER NOT NULL,           -- optimiser steps done when it was answered
    source TEXT NOT NULL,            -- expert, simulated, replay
    undone INTEGER NOT NULL DEFAULT 0,
    undone_wall_time REAL
);
CREATE INDEX IF NOT EXISTS answers_by_example ON answers (example_id, id);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def fold_status(raw) -> dict[int, tuple[str, float | None, int]]:
    """(example_id, level, undone, round) rows in arrival order → the latest live state per example."""
    status: dict[int, tuple[str, float | None, int]] = {}
    for example, level, undone, round_ in raw:
        if undone:
            status.setdefault(int(example), ("pending", None, int(round_)))
        else:
            status[int(example)] = ("skipped", None, int(round_)) if level is None else ("answered", float(level), int(round_))
    return status


def read_answers(path: str | Path) -> dict[int, float | None]:
    """The replay oracle's view of a project's answers: the last live answer per example (None:
    skipped); undone answers are left out."""
    path = Path(path)
    if not path.is_file():
        raise AQPLError(f"answers file {path} not found: pass --answers with a project's answers.sqlite or an answers CSV")
    # A URI, so the file is opened read-only; the path is percent-encoded, or a '#', '?' or '%'
    # in a folder name would open (and create) another file.
    uri = path.absolute().as_uri() + "?mode=ro"
    damaged = (f"{path} is damaged ({{}}): restore the project folder from a backup; "
               "`sqlite3 answers.sqlite .recover` can rescue most rows")
    try:
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        # a damaged page can hold text that is not UTF-8: read it as text (such a value is
        # refused below by _checked_row), not as a UnicodeDecodeError
        db.text_factory = lambda raw: raw.decode("utf-8", "replace")
        try:
            raw = db.execute("SELECT example_id, level, undone, round FROM answers ORDER BY id").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            raise AQPLError(f"{path} holds no answers table: give a project's answers.sqlite or an answers CSV") from None
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith("SQLITE_FULL") or "database or disk is full" in str(exc).lower():
            # read-only: nothing is written, so "full" is a damaged file's page count, not the disk
            raise AQPLError(damaged.format(exc)) from None
        raise sqlite_error(exc, path, "read the recorded answers") from None
    except UnicodeDecodeError:  # SQLite's message quotes a damaged schema that is not UTF-8
        raise AQPLError(damaged.format("its schema is not readable text")) from None
    rows = [_checked_row(path, number, row) for number, row in enumerate(raw, 1)]
    return {example: level for example, (kind, level, _) in fold_status(rows).items() if kind != "pending"}


def _checked_row(path: Path, number: int, row: tuple) -> tuple:
    """A row of a database edited by hand or another tool: an id that is no training example's
    index, or a level that is no finite number, is refused rather than replayed (a negative id
    would index the set from its end, an infinite level become the top of the grid)."""
    example, level, undone, round_ = row
    fix = "restore the project's answers.sqlite from a backup, or export the answers as a CSV and fix that line"
    if isinstance(example, float) and example.is_integer():
        example = int(example)
    if not isinstance(example, int) or not 0 <= example < 2**63:
        raise AQPLError(f"{path}: answer {number} has example id {example!r}, not a training example's index 0, 1, 2, ...: {fix}")
    if level is not None and (not isinstance(level, (int, float)) or not math.isfinite(level)):
        raise AQPLError(f"{path}: answer {number} (example {example}) has level {level!r}, not a finite number: {fix}")
    if undone is not None and not isinstance(undone, (int, float)):
        raise AQPLError(f"{path}: answer {number} (example {example}) has undone = {undone!r}, not 0 or 1: {fix}")
    round_ = round_ if isinstance(round_, int) else 0  # the round is not replayed
    return example, None if level is None else float(level), bool(undone), round_
