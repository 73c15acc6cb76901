"""The replay oracle: answers recorded earlier (a human session, or a levels file) replayed
headless, so a labelling session can be reproduced exactly.

Accepted files:
* CSV with columns `example_id` and `level` (an empty level is a skip); other columns ignored.
  This is what a project's answers export writes.
* `.npy` / `.pt`: one conform level per training example (e.g. a cached simulated oracle).
* a project's `answers.sqlite` (see app.engine.project), read through `load_answers`.
"""

import csv
from pathlib import Path

import numpy as np
import torch

from app.engine.errors import AQPLError
from app.engine.events import Query
from app.engine.oracle.base import Oracle


def _read_csv(path: Path) -> dict[int, float | None]:
    answers: dict[int, float | None] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "example_id" not in reader.fieldnames or "level" not in reader.fieldnames:
            raise AQPLError(f"{path} has no 'example_id' and 'level' columns: export the answers from a project or add a header row")
        for line, row in enumerate(reader, 2):
            if str(row.get("undone", "0")).strip() in ("1", "true", "True"):
                continue
            try:
                example = int(row["example_id"])
                level = None if row["level"] in ("", None) else float(row["level"])
            except ValueError:
                raise AQPLError(f"{path} line {line}: {row['example_id']!r}, {row['level']!r} is not an id and a level: fix or delete that line") from None
            answers[example] = level  # a later answer for the same example replaces the earlier one
    return answers


def load_answers(path: str | Path) -> dict[int, float | None]:
    path = Path(path)
    if not path.is_file():
        raise AQPLError(f"answers file {path} not found: pass --answers with a project's answers.sqlite or an answers CSV")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".sqlite", ".db", ".sqlite3"):
        from app.engine.project.answers import read_answers

        return read_answers(path)
    try:
        levels = np.load(path) if suffix == ".npy" else torch.load(path, map_location="cpu")
    except Exception as exc:
        raise AQPLError(f"{path} could not be read ({type(exc).__name__}): give a CSV, .npy, .pt or answers.sqlite file") from None
    if isinstance(levels, dict):
        levels = levels.get("levels")
    levels = torch.as_tensor(levels).flatten()
    # levels files are often float32: round away the 1e-8 noise (0.4000000059604645 → 0.4)
    return {i: round(float(v), 6) for i, v in enumerate(levels.tolist())}


class ReplayOracle(Oracle):
    name = "replay"

    def __init__(self, path: str | Path, on_missing=None):
        self.path = Path(path)
        self.answers = load_answers(path)
        self.on_missing = on_missing  # called with the ids the recording has no answer for

    def answerable(self) -> torch.Tensor:
        return torch.tensor(sorted(self.answers), dtype=torch.long)

    def answer(self, queries: list[Query]) -> list[float | None]:
        missing = [q.example_id for q in queries if q.example_id not in self.answers]
        if missing and self.on_missing is not None:
            self.on_missing(missing)
        return [self.answers.get(q.example_id) for q in queries]
