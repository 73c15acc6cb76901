"""A project: one folder that holds everything a run must not lose.

    DIR/aqpl-project.json   format marker (which AQPL Studio wrote it)
    DIR/settings.toml       the run's settings (human-readable)
    DIR/answers.sqlite      every answer, skip and undo (WAL: also -wal / -shm files)
    DIR/metrics.jsonl       one line per evaluation (the plots' history)
    DIR/checkpoints/        epoch-NNNN.ckpt, the last three
    DIR/results.json        the final result, once training finished
    DIR/.lock               held while a program has the project open
"""

import glob
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, fields
from pathlib import Path

import torch

from app.engine.atomic import sync_folder
from app.engine.cache import fingerprint
from app.errors import AQPLError
from app.engine.events import Callbacks, Metrics
from app.engine.project import checkpoints as ckpt
from app.engine.project import lock
from app.engine.project.answers import AnswerStore
from app.engine.faults import ProjectError, check_writable, os_error
from app.engine.project.metrics import MetricsLog
from app.engine.project.recovery import Recovery, ResumeCallbacks, ResumeOracle, reconcile
from app.engine.project.settings_file import read_settings, write_settings
from app.engine.project.store import ProjectStore
from app.engine.settings import Settings
from app.engine.choices import validated

FORMAT = 1
MARKER = "aqpl-project.json"
SETTINGS = "settings.toml"
ANSWERS = "answers.sqlite"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
RESULTS = "results.json"
EXPORT = "export"  # where a finished headless run exports itself
# Settings that belong to the machine, not the experiment: the caller's value is used.
MACHINE_SETTINGS = ("device", "precision")


def _app_version() -> str:
    try:
        from importlib.metadata import version

        return version("aqpl-studio")
    except Exception:
        return "unknown"


def _read_marker(path: Path) -> dict:
    if not path.exists():
        raise ProjectError(f"no project at {path}: pick an existing project folder, or give a new folder to create one")
    if not path.is_dir():
        raise ProjectError(f"{path} is a file, not a project folder: pick the folder that holds {MARKER}")
    marker = path / MARKER
    if not marker.is_file():
        raise ProjectError(f"{path} is not an AQPL Studio project (no {MARKER}): pick the project folder itself, or a new folder")
    try:
        data = json.loads(marker.read_text())
        version = int(data["format"])
    except (OSError, ValueError, KeyError, TypeError, OverflowError):  # OverflowError: "format": Infinity
        raise ProjectError(f"{marker} is damaged: restore it, or write {{\"format\": {FORMAT}}} into it") from None
    if version > FORMAT:
        raise ProjectError(
            f"{path} was written by a newer AQPL Studio ({data.get('app_version', '?')}, project format {version}; "
            f"this one reads format {FORMAT}): update AQPL Studio to open it"
        )
    return data


def _staging_prefix(name: str) -> str:
    """`.NAME.creating-` (the process id follows), shortened for long names so that any legal
    project name (up to 255 bytes) gives a legal staging name."""
    raw = os.fsencode(name)
    if len(raw) > 200:
        name = os.fsdecode(raw[:100]) + "-" + hashlib.sha1(raw).hexdigest()[:12]
    return f".{name}.creating-"


def _remove_abandoned_staging(parent: Path, name: str) -> None:
    """Folders of project creations that a crash interrupted (their process is gone)."""
    for staging in parent.glob(glob.escape(_staging_prefix(name)) + "*"):
        try:
            os.kill(int(staging.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(staging, ignore_errors=True)
        except (ValueError, PermissionError):
            pass  # not ours, or another user's live process


def missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist yet, deepest first: what
    mkdir(parents=True) is about to create."""
    missing = []
    for candidate in (folder, *folder.parents):
        try:
            if candidate.exists():
                break
        except OSError:  # a name too long to even look up
            pass
        missing.append(candidate)
    return missing


def remove_empty_folders(folders: list[Path]) -> None:
    """Undo mkdir(parents=True) after a refusal (deepest first, only folders still empty): a
    refused path leaves no trail of empty folders behind."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (something else was put there), or never created


def dataset_meta(dataset) -> dict:
    return {
        "name": dataset.name, "train": len(dataset.train_x), "test": len(dataset.test_x),
        "shape": list(dataset.train_x.shape[1:]), "classes": list(dataset.classes),
        # Labels plus the first images: cheap, and different data of the same size is caught.
        "fingerprint": fingerprint(dataset.train_y, dataset.train_x[:256]),
        "labels": dataset.train_y.to(torch.int32).clone(),
    }


class Project:
    def __init__(self, path: Path, settings: Settings, marker: dict, lock_key: str):
        self.path = path
        self.settings = settings
        self.marker = marker
        self._lock_key = lock_key
        self.checkpoints_dir = path / CHECKPOINTS
        self.export_dir = path / EXPORT
        self.store = ProjectStore(
            AnswerStore(path / ANSWERS), MetricsLog(path / METRICS), self.checkpoints_dir
        )
        # open_or_create: stored settings that differ from the caller's: name → (stored, given).
        self.settings_differences: dict[str, tuple] = {}
        self._closed = False

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path, settings: Settings) -> "Project":
        path = Path(path)
        validated(settings)
        try:
            if path.exists():
                if (path / MARKER).exists():
                    raise ProjectError(f"{path} is already a project: open it instead of creating it")
                if not path.is_dir() or any(path.iterdir()):
                    raise ProjectError(f"{path} exists and is not empty: give a new (or empty) folder for the project")
        except OSError as exc:  # a name too long for the file system, an unreadable parent
            raise os_error(exc, path.parent, "create the project") from None
        parent = path.parent
        created = missing_folders(parent)  # removed again if the project cannot be made
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            remove_empty_folders(created)
            raise os_error(exc, parent, "create the project folder") from None
        # Build the project beside its place and rename it in: a crash never leaves half a project.
        _remove_abandoned_staging(parent, path.name)
        staging = parent / f"{_staging_prefix(path.name)}{os.getpid()}"
        try:
            staging.mkdir()
            (staging / CHECKPOINTS).mkdir()
            write_settings(staging / SETTINGS, settings)
            AnswerStore(staging / ANSWERS, create=True).close()
            marker = {"format": FORMAT, "app": "aqpl-studio", "app_version": _app_version(), "created": time.time()}
            ckpt.write_atomic(staging / MARKER, (json.dumps(marker, indent=1) + "\n").encode(), "write the project marker")
            os.replace(staging, path)  # also replaces an empty folder
            sync_folder(parent)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            remove_empty_folders(created)
            raise os_error(exc, parent, "create the project") from None
        except AQPLError:
            shutil.rmtree(staging, ignore_errors=True)
            remove_empty_folders(created)
            raise
        return cls.open(path)

    @classmethod
    def open(cls, path) -> "Project":
        path = Path(path)
        marker = _read_marker(path)
        check_writable(path)
        key = lock.acquire(path)
        try:
            ckpt.remove_stale_temporaries(path)
            checkpoints = path / CHECKPOINTS
            if checkpoints.exists() and not checkpoints.is_dir():
                raise ProjectError(
                    f"{checkpoints} is a file, but the project keeps its checkpoints in a folder of that name: "
                    "move or rename that file, then open the project again"
                )
            checkpoints.mkdir(exist_ok=True)
            ckpt.remove_stale_temporaries(path / CHECKPOINTS)
            settings = read_settings(path / SETTINGS)
            return cls(path, settings, marker, key)
        except OSError as exc:
            lock.release(key)
            raise os_error(exc, path, "open the project") from None
        except BaseException:
            lock.release(key)
            raise

    @classmethod
    def open_or_create(cls, path, settings: Settings) -> "Project":
        """Headless `--project DIR`: a new folder is created with `settings`; an existing project
        keeps its stored settings, and `settings_differences` lists what the caller asked for
        that was not used (machine settings such as the device follow the caller)."""
        path = Path(path)
        if not path.exists() or (path.is_dir() and not (path / MARKER).exists() and not any(path.iterdir())):
            return cls.create(path, settings)
        project = cls.open(path)
        stored, given = project.settings.to_dict(), settings.to_dict()
        for name in MACHINE_SETTINGS:
            setattr(project.settings, name, given[name])
        inert = project.settings.inert() if stored["method"] == given["method"] else set()
        project.settings_differences = {
            name: (stored[name], given[name])
            for name in stored
            if name not in MACHINE_SETTINGS and name not in inert and stored[name] != given.get(name)
        }
        return project

    # -- training ------------------------------------------------------------------------------
    def load_dataset(self):
        """The dataset the project's settings name, with a message that says where to fix it."""
        from app.engine.data import load_dataset

        s = self.settings
        try:
            return load_dataset(s.dataset, s.data_dir, s.image_size)
        except AQPLError as exc:
            # The loader's own fix speaks of command-line options; a project's lives in its settings.
            raise type(exc)(f"{exc} (this project: restore the dataset, or edit dataset / data_dir in {self.path / SETTINGS})") from None

    def latest_checkpoint(self, warn=None) -> dict | None:
        """The newest intact checkpoint's payload ({"state": trainer state, "dataset": ...})."""
        found = ckpt.latest_valid(self.checkpoints_dir, warn or (lambda message: None))
        return found[1] if found else None

    def make_trainer(self, dataset, oracle=None, callbacks: Callbacks | None = None, suite=None):
        """A trainer whose store is this project. Resumes from the newest intact checkpoint (a
        damaged one is reported through callbacks.on_warning and the previous one used), then
        applies every answer, skip and undo the database holds that the checkpoint does not."""
        from app.engine.trainer import Trainer

        callbacks = ResumeCallbacks(callbacks or Callbacks())
        resume_oracle = ResumeOracle(oracle) if oracle is not None else None
        meta = dataset_meta(dataset)
        trainer = Trainer(self.settings, dataset, oracle=resume_oracle, callbacks=callbacks, store=self.store, suite=suite)
        self.store.dataset_meta = meta
        for note in self.settings.notices(len(dataset.train_x)):
            callbacks.on_warning(note)
        payload = self.latest_checkpoint(callbacks.on_warning)
        if payload is not None:
            self._check_dataset(payload.get("dataset"), meta)
            state = payload["state"]
            changed = [
                f"{name} {old!r} → {new!r}" for name, old in state.get("settings", {}).items()
                if name not in MACHINE_SETTINGS and (new := getattr(self.settings, name, old)) != old
            ]
            if changed:
                callbacks.on_warning(f"settings changed since the last checkpoint ({'; '.join(changed)}): resuming with the new values")
            try:
                trainer.load_state_dict(state)
            except (RuntimeError, KeyError, ValueError) as exc:
                raise ProjectError(
                    f"the checkpoint in {self.checkpoints_dir} does not fit these settings "
                    f"({str(exc).splitlines()[0][:120]}): undo the edits to {self.path / SETTINGS}"
                ) from None
        deferred = reconcile(trainer, self.store.answers.status(), callbacks.on_warning)
        recovery = Recovery(trainer, deferred, self.store, callbacks.on_warning) if deferred else None
        announce = list(trainer.book.pending.values()) if oracle is None else []
        # The wrappers were given to the trainer at construction; now they know what to hand back.
        callbacks.attach(trainer, recovery, announce, hand_back=oracle is None)
        if resume_oracle is not None:
            resume_oracle.recovery = recovery
        return trainer

    def _check_dataset(self, stored: dict | None, given: dict) -> None:
        if not stored:
            return
        same = all(stored.get(k) == given[k] for k in ("train", "shape", "classes", "fingerprint"))
        if not same:
            raise ProjectError(
                f"the dataset given ({given['name']}, {given['train']} training images of {given['shape']}) is not the one "
                f"project {self.path} was trained on ({stored.get('name')}, {stored.get('train')} of {stored.get('shape')}): "
                f"load the project's dataset (dataset / data_dir in {self.path / SETTINGS})"
            )

    # -- what the project holds -------------------------------------------------------------
    def answers(self, include_undone: bool = False) -> list[dict]:
        return self.store.answers.rows(include_undone)

    def metrics_history(self) -> list[Metrics]:
        return self.store.metrics.history()

    def is_finished(self) -> bool:
        return self.load_result() is not None

    def conclude(self, result, trainer=None, export: bool = True, on_warning=None, onnx: bool = False) -> None:
        """A finished run: its export first (export/, from `trainer`), the result last.
        results.json marks the run finished, so a failed export (full disk, unwritable folder)
        is written again by the next run, never reused. Headless runs (one process or DDP's
        rank 0) export; the GUI's worker saves the result alone (export=False: the expert
        exports from the menu, into a folder of their choice)."""
        if export:
            self.export(self.export_dir, trainer, on_warning, onnx)
        self.save_result(result)

    def save_result(self, result) -> None:
        data = asdict(result)
        ckpt.write_atomic(self.path / RESULTS, (json.dumps(data, indent=1) + "\n").encode(), "save the result")

    def load_result(self):
        from app.engine.result import RunResult

        path = self.path / RESULTS
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            known = {f.name for f in fields(RunResult)}
            return RunResult(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None  # a damaged result means "not finished": resuming re-evaluates it

    def export(self, folder, trainer=None, on_warning=None, onnx: bool = True) -> list[Path]:
        """levels.csv, answers.csv, model.pt2, model.onnx (unless onnx=False: the exporter takes
        longer than an epoch of the small CNN, so headless runs ask for it with --onnx) and
        report.md (with PNG plots) in `folder`. Without a trainer the newest checkpoint is
        exported. What cannot be exported (no checkpoint yet, a model ONNX cannot express) is a
        one-line warning, not an error."""
        from app.engine.project.exports import export_project

        return export_project(self, Path(folder), trainer, on_warning, onnx)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.store.answers.close()
        lock.release(self._lock_key)

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r}, method={self.settings.method}, dataset={self.settings.dataset})"
