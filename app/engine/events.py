"""What the trainer tells the outside world, as plain dataclasses and a callback interface.

The GUI wraps `Callbacks` in Qt signals; the command line prints; tests record. Nothing
here knows Qt.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Phase(StrEnum):
    """What the trainer is doing (StrEnum: the trainer may pass the plain names)."""

    TRAIN = "train"
    QUERY = "query"  # scoring the pool and picking a round's queries
    WAITING = "waiting"  # synchronous mode: the round's answers are not all in
    EVAL = "eval"


@dataclass
class Progress:
    phase: Phase
    epoch: int  # 1-based epoch in progress
    epochs: int
    batch: int  # batches done in this epoch
    batches: int
    step: int  # optimiser steps done in the run
    total_steps: int
    elapsed_s: float
    eta_s: float | None
    loss: float | None = None
    final: bool = False  # the final evaluation (no answer given from now on can change training)
    # expert-paced sessions (app/engine/pacing.py): "" (not paced or still in the minimum
    # epochs), "extending" (extra epochs while the expert answers) or "finishing" (final phase)
    pace: str = ""
    extra_epochs: int = 0
    answers: int = 0  # answers applied so far
    budget: int = 0
    answers_per_min: float | None = None
    idle_left_s: float | None = None  # extending: seconds without an answer before the final phase

    def __post_init__(self):
        self.phase = Phase(self.phase)  # an unknown name fails here, not in a comparison elsewhere


@dataclass
class Metrics:
    epoch: int
    step: int
    answers: int  # expert answers applied so far
    clean: float
    gaussian: float | None
    all: float | None
    curve_levels: list[float]
    curve_accuracy: list[float]
    loss: float | None
    final: bool = False
    per_corruption: dict[str, float] = field(default_factory=dict)
    level_counts: dict[str, int] = field(default_factory=dict)
    subset: int = 0  # test images used (0: the whole test set)
    conform: float | None = None  # final evaluation only (app/engine/evaluate.py)
    calibration: dict = field(default_factory=dict)  # final only: {"clean"|"gaussian"|"conform": {"nll","ece","acc90"}}
    all_unimitated: float | None = None  # final only: All without the corruptions augmentations imitate
    mean_level: float | None = None  # the mean training level of the perturbed examples


@dataclass
class Query:
    """One example to show the expert at every candidate level."""

    example_id: int
    label: int
    class_name: str
    level: float  # the example's current level when it was selected
    round: int
    utility: float
    noise_seed: int
    grid: list[float]


@dataclass
class AnswerRecord:
    """An answer as it is stored the moment it is given (None level: skipped)."""

    example_id: int
    level: float | None
    grid: list[float]
    noise_seed: int
    time_taken_s: float
    wall_time: float
    round: int
    step: int
    source: str = "expert"  # "expert", "simulated", "replay"


class Callbacks:
    """Override what you need; every method is called from the training thread."""

    def on_progress(self, progress: Progress) -> None: ...

    def on_metrics(self, metrics: Metrics) -> None: ...

    def on_queries(self, queries: list[Query]) -> None: ...

    def on_levels_changed(self) -> None: ...

    def on_warning(self, message: str) -> None: ...


class RunStore:
    """Where a run keeps what must survive a crash (the project folder implements it)."""

    def record_answer(self, record: AnswerRecord) -> None: ...

    def record_undo(self, example_id: int) -> None: ...

    def save_checkpoint(self, state: dict) -> None: ...

    def log_metrics(self, metrics: Metrics) -> None: ...
