"""Export a project: levels and answers as CSV, the model as torch.export (.pt2) and ONNX, and
a Markdown report with PNG plots. Plots use matplotlib's Agg canvas directly (no pyplot, no
global backend switch), so exporting from the GUI's process is safe."""

import copy
import csv
import datetime
from pathlib import Path

import torch

from app.engine.atomic import replace_atomically
from app.engine.export import export_onnx, export_program
from app.engine.levels import Source
from app.engine.faults import os_error

ANSWER_COLUMNS = (
    "id", "example_id", "level", "undone", "source", "round", "step", "time_taken_s",
    "wall_time", "answered_at", "undone_wall_time", "noise_seed", "grid",
)


def write_answers_csv(path: Path, rows: list[dict]) -> Path:
    """Every row, undone ones included (flagged): the replay oracle reads example_id, level and
    undone; an empty level is a skip."""
    return replace_atomically(path, lambda tmp: _write_answers(tmp, rows))


def _write_answers(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(ANSWER_COLUMNS)
        for row in rows:
            writer.writerow([
                row["id"], row["example_id"], "" if row["level"] is None else repr(float(row["level"])),
                int(row["undone"]), row["source"], row["round"], row["step"], f"{row['time_taken_s']:.3f}",
                f"{row['wall_time']:.3f}",
                datetime.datetime.fromtimestamp(row["wall_time"]).isoformat(timespec="seconds"),
                "" if row["undone_wall_time"] is None else f"{row['undone_wall_time']:.3f}",
                row["noise_seed"], " ".join(f"{g:g}" for g in row["grid"]),
            ])


def write_levels_csv(path: Path, table: dict, labels: torch.Tensor, classes: list[str]) -> Path:
    return replace_atomically(path, lambda tmp: _write_levels(tmp, table, labels, classes))


def _write_levels(path: Path, table: dict, labels: torch.Tensor, classes: list[str]) -> None:
    level, source, cap = table["level"].tolist(), table["source"].tolist(), table["cap"].tolist()
    labels = labels.tolist()
    # errors="replace": a class name that is not valid UTF-8 must not cost the whole export
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as f:
        writer = csv.writer(f)
        writer.writerow(("example_id", "label", "class_name", "level", "source", "cap"))
        for i in range(len(level)):
            writer.writerow((
                i, labels[i], classes[labels[i]], f"{level[i]:.6g}", Source(int(source[i])).name.lower(), f"{cap[i]:.6g}",
            ))


def _model_from_checkpoint(project, payload: dict):
    from models import build

    meta = payload.get("dataset") or {}
    shape = meta.get("shape")
    if not shape:
        return None, None
    model = build(project.settings.model, len(meta["classes"]), shape[0], shape[1])
    model.load_state_dict(payload["state"]["model"])
    return model, tuple(shape)


def _export_onnx(model, example, path: Path, warn) -> list[Path]:
    """ONNX is optional: a model the exporter cannot express is a warning, not an error."""
    try:
        return [export_onnx(model, example, path)]
    except OSError:
        raise
    except Exception as exc:  # the exporter's many failure types
        path.unlink(missing_ok=True)
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        warn(f"ONNX export failed for this model ({first}): use model.pt2 (torch.export) instead")
        return []


def export_project(project, folder: Path, trainer, on_warning, onnx: bool = True) -> list[Path]:
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        if on_warning is not None:
            on_warning(message)

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [write_answers_csv(folder / "answers.csv", project.answers(include_undone=True))]
    except OSError as exc:
        raise os_error(exc, folder, "write the export") from None

    table = model = shape = labels = classes = None
    if trainer is not None:
        table = trainer.table.state_dict()
        labels, classes = trainer.dataset.train_y, trainer.dataset.classes
        model, shape = copy.deepcopy(trainer.model), tuple(trainer.image_shape)  # never move the live model
    else:
        payload = project.latest_checkpoint(warn)
        if payload is None:
            warn("no checkpoint yet (train at least one epoch): levels and model were not exported")
        else:
            table = payload["state"]["table"]
            meta = payload.get("dataset") or {}
            if "labels" in meta:
                labels, classes = meta["labels"].long(), meta["classes"]
            model, shape = _model_from_checkpoint(project, payload)

    try:
        if table is not None and labels is not None:
            written.append(write_levels_csv(folder / "levels.csv", table, labels, classes))
        if model is not None:
            example = torch.zeros((2, *shape))
            written.append(export_program(model, example, folder / "model.pt2"))
            if onnx:
                written.extend(_export_onnx(model, example, folder / "model.onnx", warn))
            else:
                (folder / "model.onnx").unlink(missing_ok=True)  # never a stale ONNX beside a fresh model.pt2
        from app.engine.project.report import write_report

        result = trainer.result if trainer is not None else None  # the run may not be marked finished yet
        written.extend(write_report(project, folder, table, warnings, result))
    except OSError as exc:
        raise os_error(exc, folder, "write the export") from None
    return written
