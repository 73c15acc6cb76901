"""What one run of one method with one seed measured: the record results.json, the report
and a project's saved result are made of (below the trainer, so they need not import it)."""

from dataclasses import dataclass, field


@dataclass
class RunResult:
    method: str
    seed: int
    clean: float
    gaussian: float | None
    all: float | None
    per_corruption: dict[str, float]
    curve_levels: list[float]
    curve_accuracy: list[float]
    queries_used: int
    budget: int
    epochs_done: int
    stopped_early: bool
    seconds: float
    device: str
    suite: str | None = None
    suite_source: str | None = None
    history: list[dict] = field(default_factory=list)
    conform: float | None = None
    # {"clean" | "gaussian" | "conform": {"nll", "ece", "acc90"}} (app/engine/calibration.py)
    calibration: dict = field(default_factory=dict)
    all_unimitated: float | None = None  # All without the corruptions an augmentation imitates
    mean_level: float | None = None  # the mean level the noisy examples trained at (the amount of noise)
    augment: str = "none"
