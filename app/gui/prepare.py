"""Everything a session needs before its first batch: dataset, settings, project, oracle, trainer.

Plain Python (no Qt): the worker runs it in the training thread, tests call it directly. Slow
steps (loading a dataset, training the simulated oracle's reference model) report progress
through `report(label, done, total)` and stop early when `cancelled()` turns true.
"""

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from app.engine.data import Dataset, load_dataset
from app.errors import SettingsError
from app.engine.events import Callbacks, Metrics
from app.engine.settings import Settings, defaults_for, load_defaults
from app.engine.choices import validated


def gui_default(name: str):
    """A family-independent default of the desktop app (resources/defaults.toml, [common] + [gui])."""
    return load_defaults("gray", gui=True)[name]


class Cancelled(Exception):
    """The user cancelled while the session was being prepared."""


@dataclass
class SessionRequest:
    """What to start: a new session from setting overrides, or an existing project."""

    overrides: dict = field(default_factory=dict)
    project: str | None = None  # new session: the folder to create (None: no project); open: the folder
    open_existing: bool = False
    watch: bool = False  # the simulated oracle answers through the query panel
    load_suite: bool = True  # the corruption suite for the final Gaussian / All scores
    dataset: Dataset | None = None  # given instead of loaded (tests and benchmarks)

    def describe(self) -> str:
        if self.open_existing:
            return f"project {self.project}"
        o = self.overrides
        return f"{o.get('method') or gui_default('method')} on {o.get('dataset') or gui_default('dataset')}"


@dataclass
class PreparedSession:
    settings: Settings
    dataset: Dataset
    trainer: object  # app.engine.trainer.Trainer
    project: object | None = None  # app.engine.project.Project
    oracle: object | None = None  # watch mode: answers the queries through the panel
    history: list[Metrics] = field(default_factory=list)  # earlier evaluations of a reopened project
    answered_before: int = 0  # answers applied before this session (resumed projects)
    finished: object | None = None  # a reopened project that had finished: its stored RunResult
    undoable: list = field(default_factory=list)  # a reopened project's answers (GivenAnswer), oldest first: Undo takes them back

    @property
    def project_path(self) -> str | None:
        return str(self.project.path) if self.project is not None else None


def default_project_folder(root: Path, overrides: dict) -> Path:
    """A new, unique folder per session, named so a person can tell projects apart."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    dataset, method = overrides.get("dataset") or gui_default("dataset"), overrides.get("method") or gui_default("method")
    name = f"{dataset}-{method}-{stamp}"
    path = root / name
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{name}-{suffix}"
    return path


def settings_for(family: str, overrides: dict) -> Settings:
    """The family's GUI defaults under the caller's overrides; raises SettingsError on bad values."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if values.get("method") == "all":
        raise SettingsError("method 'all' runs five trainings and needs no expert: run it headless (python -m app --simulate-oracle)")
    try:
        return validated(defaults_for(family, gui=True, **values))
    except TypeError as exc:  # an override that is no setting
        raise SettingsError(f"unknown setting in {sorted(values)}: {exc}") from None


def prepare_session(request: SessionRequest, callbacks: Callbacks, report=None, cancelled=lambda: False) -> PreparedSession:
    report = report or (lambda label, done, total: None)

    def step(done: int, total: int, label: str) -> None:
        if cancelled():
            raise Cancelled()
        report(label, done, total)

    project = None
    if request.open_existing:
        from app.engine.project import Project

        report(f"opening project {request.project}", 0, 0)
        project = Project.open(request.project)
        try:
            settings = project.settings
            if request.overrides.get("device"):  # the machine's choice, not the experiment's
                settings = replace(settings, device=request.overrides["device"])
                project.settings = settings
            report(f"loading dataset {settings.dataset}", 0, 0)
            dataset = request.dataset or project.load_dataset()
        except BaseException:
            project.close()
            raise
    else:
        overrides = request.overrides
        name = overrides.get("dataset") or gui_default("dataset")
        report(f"loading dataset {name}", 0, 0)
        dataset = request.dataset or load_dataset(name, overrides.get("data_dir"), overrides.get("image_size"))
        settings = settings_for(dataset.family, overrides)
        if request.project:
            from app.engine.project import Project

            project = Project.create(request.project, settings)
    try:
        for message in dataset.extra.get("warnings", []):
            callbacks.on_warning(message)
        if cancelled():
            raise Cancelled()
        oracle = _watch_oracle(dataset, settings, step) if request.watch else None
        report("building the model", 0, 0)
        if project is not None:
            trainer = project.make_trainer(dataset, oracle=None, callbacks=callbacks)
            history = project.metrics_history()
            finished = project.load_result()
        else:
            from app.engine.trainer import Trainer

            trainer = Trainer(settings, dataset, oracle=None, callbacks=callbacks)
            history, finished = [], None
    except BaseException:
        if project is not None:
            project.close()
        raise
    undoable = undo_history(project, trainer, dataset) if project is not None and finished is None else []
    return PreparedSession(
        settings=settings, dataset=dataset, trainer=trainer, project=project, oracle=oracle,
        history=history, answered_before=trainer.book.used, finished=finished, undoable=undoable,
    )


def undo_history(project, trainer, dataset) -> list:
    """The answers and skips a reopened project holds (not undone), oldest first, as the query
    panel's undo stack: Undo (Backspace) takes them back as it does the session's own. Each
    comes back on screen as it was asked (grid, noise) at the level it had before the answer."""
    from app.engine.events import Query
    from app.gui.query_queue import GivenAnswer

    before = {}
    for change in trainer.table.history:  # oldest first: the latest change per example wins
        before[change.example_id] = change.old_level
    stack = []
    for row in project.answers():
        example = int(row["example_id"])
        label = int(dataset.train_y[example])
        level = before.get(example, float(trainer.table.level[example]))
        query = Query(example_id=example, label=label, class_name=dataset.classes[label], level=level,
                      round=int(row["round"]), utility=0.0, noise_seed=int(row["noise_seed"]), grid=list(row["grid"]))
        stack.append(GivenAnswer(query, row["level"], float(row["time_taken_s"]), row["source"]))
    return stack


def _watch_oracle(dataset: Dataset, settings: Settings, step):
    """The simulated oracle of watch mode, its conform levels ready (trained once, then cached)."""
    from app.engine.device import pick_device
    from app.engine.oracle import NoisyOracle, make_simulated_oracle

    device, _ = pick_device(settings.device)
    oracle = make_simulated_oracle(dataset, settings, device, step)
    started = time.perf_counter()
    step(0, 1, "simulated oracle: conform levels (computed once, then cached)")
    oracle.levels()
    step(1, 1, f"simulated oracle ready ({time.perf_counter() - started:.0f} s)")
    if settings.annotator_noise > 0:
        return NoisyOracle(oracle, settings.annotator_noise, settings.seed)
    return oracle
