"""The replay oracle: answers recorded earlier (a human session, or a levels file) replayed
headless, so a labelling session can be reproduced exactly.

Accepted files:
* CSV with columns `example_id` and `level` (an empty level is a skip); other columns ignored.
  This is what a project's answers export writes. A UTF-8 byte-order mark and `;` or tab
  separators (spreadsheet exports) are accepted.
* `.npy` / `.pt`: one conform level per training example (e.g. a cached simulated oracle).
* a project's `answers.sqlite` (see app.engine.project), read through `load_answers`.

Every level must be a finite number: NaN or infinity is refused with the line or index, never
replayed as some grid level. Levels outside the run's grid are snapped to its nearest end, with
a warning (`ReplayOracle(on_warning=...)`).
"""

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import torch

from app.errors import AQPLError
from app.engine.answers_db import read_answers
from app.engine.events import Query
from app.engine.oracle.base import Oracle

SEPARATORS = (",", ";", "\t")
MAX_ID = 2**63  # example ids index a tensor: int64


def _header_separator(first_line: str) -> str:
    """The separator that splits the header into cells naming example_id and level."""
    for separator in SEPARATORS:
        cells = [c.strip().strip('"') for c in first_line.split(separator)]
        if "example_id" in cells and "level" in cells:
            return separator
    return ","


def _read_csv(path: Path) -> dict[int, float | None]:
    answers: dict[int, float | None] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            separator = _header_separator(f.readline())
            f.seek(0)  # the utf-8-sig decoder skips the byte-order mark again
            reader = csv.DictReader(f, delimiter=separator)
            fields = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = fields
            if "example_id" not in fields or "level" not in fields:
                found = ", ".join(repr(n) for n in fields[:6]) or "none"
                raise AQPLError(
                    f"{path} has no 'example_id' and 'level' columns (its header row holds {found}): export the "
                    "answers from a project, or add a header row example_id,level"
                )
            for line, row in enumerate(reader, 2):
                if str(row.get("undone") or "0").strip() in ("1", "true", "True"):
                    continue
                example_text, level_text = (row.get("example_id") or "").strip(), (row.get("level") or "").strip()
                try:
                    example = int(example_text)
                    level = None if level_text == "" else float(level_text)
                except ValueError:
                    raise AQPLError(
                        f"{path} line {line}: {example_text!r}, {level_text!r} is not an id and a level: fix or delete that line"
                    ) from None
                if example < 0:
                    raise AQPLError(f"{path} line {line}: example id {example} is negative: ids count training examples from 0")
                if example >= MAX_ID:
                    raise AQPLError(
                        f"{path} line {line}: example id {example_text} is larger than any training set: ids count "
                        "training examples from 0; fix or delete that line"
                    )
                if level is not None and not math.isfinite(level):
                    raise AQPLError(
                        f"{path} line {line}: level {level_text!r} is not a finite number: give the level (e.g. 0.3), "
                        "or leave it empty for a skip"
                    )
                answers[example] = level  # a later answer for the same example replaces the earlier one
    except UnicodeDecodeError:
        raise AQPLError(f"{path} is not UTF-8 text: save the CSV as UTF-8") from None
    except csv.Error as exc:  # a NUL byte, a field over the csv module's limit
        raise AQPLError(f"{path} is not a readable CSV ({exc}): export the answers from a project again") from None
    return answers


def _real_numbers(dtype) -> bool:
    if isinstance(dtype, torch.dtype):
        return not (dtype.is_complex or dtype == torch.bool)
    return np.dtype(dtype).kind in "iuf"


def _read_levels(path: Path, suffix: str) -> dict[int, float | None]:
    """A levels file: one level per training example, in example order."""
    try:
        with warnings.catch_warnings():
            # torch.load's notes on a damaged file ("Detected pickle protocol 3 ...") are raw
            # lines for the user; the file is read, or refused below in one line
            warnings.simplefilter("ignore", UserWarning)
            levels = (np.load(path, allow_pickle=False) if suffix == ".npy"
                      else torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise AQPLError(f"{path} could not be read ({type(exc).__name__}): give a CSV, .npy, .pt or answers.sqlite file") from None
    if isinstance(levels, dict):
        levels = levels.get("levels")
    kind = getattr(levels, "dtype", None)
    if kind is not None and not _real_numbers(kind):
        # complex levels would silently lose their imaginary part, booleans become 0 and 1
        raise AQPLError(
            f"{path} holds {str(kind).removeprefix('torch.')} values, not levels: a levels file is one real number per "
            "training example (float32 or float64)"
        )
    try:
        array = torch.as_tensor(levels).double()
    except (TypeError, ValueError, RuntimeError):
        raise AQPLError(
            f"{path} holds no levels ({type(levels).__name__}): give an array of one level per example, or a dict "
            "with a 'levels' array"
        ) from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise AQPLError(
            f"{path} holds an array of shape {tuple(array.shape)}: a levels file is one level per training example, "
            "shape (N,)"
        )
    bad = torch.nonzero(~torch.isfinite(array)).flatten()
    if len(bad):
        raise AQPLError(
            f"{path}: the level of example {int(bad[0])} is {float(array[bad[0]])} ({len(bad)} such): "
            "every level must be a finite number"
        )
    # levels files are often float32: round away the 1e-8 noise (0.4000000059604645 → 0.4)
    return {i: round(float(v), 6) for i, v in enumerate(array.tolist())}


def load_answers(path: str | Path) -> dict[int, float | None]:
    path = Path(path)
    if path.is_dir():
        inside = path / "answers.sqlite"
        hint = f"pass {inside}" if inside.is_file() else "pass a project's answers.sqlite or an answers CSV"
        raise AQPLError(f"answers file {path} is a folder, not a file: {hint}")
    if not path.is_file():
        raise AQPLError(f"answers file {path} not found: pass --answers with a project's answers.sqlite or an answers CSV")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".sqlite", ".db", ".sqlite3"):
        return read_answers(path)
    return _read_levels(path, suffix)


class ReplayOracle(Oracle):
    name = "replay"

    def __init__(self, path: str | Path, on_missing=None, on_warning=None):
        self.path = Path(path)
        self.answers = load_answers(path)
        self.on_missing = on_missing  # called with the ids the recording has no answer for
        self.on_warning = on_warning  # called with one line when recorded levels lie off the grid's range

    def answerable(self) -> torch.Tensor:
        return torch.tensor(sorted(self.answers), dtype=torch.long)

    def coverage(self, train_size: int, budget: int | None = None) -> str | None:
        """Check the recording against a training set of `train_size` examples before a run:
        the trainer asks only for recorded examples, so a recording made on other data would
        otherwise ask nothing and report a normal result. Raises AQPLError when no recorded
        answer belongs to this training set; returns one line (a warning) when the recording
        covers only part of it, None when it covers all of it. `budget`: the queries the run
        may ask, named in the line when the recording cannot fill them."""
        if not self.answers:
            raise AQPLError(
                f"{self.path} holds no answers: replay a project's answers.sqlite or an answers CSV with at "
                "least one answer"
            )
        usable = sum(1 for example in self.answers if example < train_size)
        ignored = len(self.answers) - usable
        if usable == 0:
            low, high = min(self.answers), max(self.answers)
            raise AQPLError(
                f"{self.path}: none of its {len(self.answers)} recorded answers is for this training set (ids "
                f"{low}..{high}, but the set has {train_size} examples, ids 0..{train_size - 1}): replay a "
                "recording made on this dataset"
            )
        if usable >= train_size:
            return None
        line = f"{self.path} holds answers for {usable} of the {train_size} training examples"
        if ignored:
            line += f" ({ignored} recorded id(s) ≥ {train_size} are not in this set and are ignored)"
        line += f": only those {usable} can be asked"
        if budget is not None and budget > usable:
            line += f", not the budget's {budget}"
        return line

    def answer(self, queries: list[Query]) -> list[float | None]:
        missing = [q.example_id for q in queries if q.example_id not in self.answers]
        if missing and self.on_missing is not None:
            self.on_missing(missing)
        levels = [self.answers.get(q.example_id) for q in queries]
        outside = [
            (q.example_id, level) for q, level in zip(queries, levels)
            if level is not None and q.grid and not (min(q.grid) <= level <= max(q.grid))
        ]
        if outside and self.on_warning is not None:
            example, level = outside[0]
            grid = queries[0].grid
            self.on_warning(
                f"{len(outside)} recorded level(s) lie outside the grid [{min(grid):g}, {max(grid):g}] "
                f"(e.g. example {example}: {level:g}): each is replaced by the nearest grid level"
            )
        return levels
