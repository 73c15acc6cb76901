"""Assessing a run's model: the Metrics of one evaluation (after an epoch, or the final one with
the corruption suite, conform levels and calibration) and the RunResult of the finished run.
"""

from app.engine.device import describe
from app.engine.evaluate import accuracy, robustness_curve, scored, suite_scores
from app.engine.events import Metrics
from app.engine.result import RunResult


class Assessment:
    """Evaluates `model` on the dataset's test set; `policy`, `table` and `book` give the amount
    of noise trained at, the level counts and the answers used."""

    def __init__(self, settings, dataset, model, device, policy, table, book, suite: dict | None):
        self.settings = settings
        self.test_x, self.test_y = dataset.test_x, dataset.test_y
        self.model, self.device = model, device
        self.policy, self.table, self.book = policy, table, book
        self.suite = suite  # a loaded corruption suite (the GUI sets it once loaded, before the end)
        self.suite_info: tuple[str | None, str | None] = (None, None)  # the final evaluation's suite, source

    def mean_training_level(self) -> float:
        """The amount of noise the method trains at: the mean level of the examples it perturbs
        (GNT: σ; AQPL-soft: its σ; AQPL-GNT: the mean of its table; CAT: of its adapted levels).
        Frontiers compare methods at equal amounts."""
        if hasattr(self.policy, "training_sigma"):
            return float(self.policy.training_sigma())
        return float(self.table.level.mean())

    def evaluate(self, final: bool, epoch: int, step: int, loss: float | None) -> Metrics:
        """Mid-run (`final` False): clean accuracy and the curve, on `eval_subset` test images at
        most. Final: the whole test set, the suite's scores, conform and calibration."""
        settings, model, device = self.settings, self.model, self.device
        x, y = self.test_x, self.test_y
        subset = 0
        if not final and settings.eval_subset and len(x) > settings.eval_subset:
            subset = settings.eval_subset
            x, y = x[:subset], y[:subset]  # test sets are class-mixed; a fixed prefix keeps curves comparable
        curve = robustness_curve(model, x, y, device, settings.grid)
        clean = curve[0] if settings.grid[0] == 0 else accuracy(model, x, y, device)
        has_suite = self.suite is not None and "gaussian" in self.suite  # else conform levels at most
        scores = suite_scores(model, self.suite, device) if final and has_suite else {}
        conform_levels = (self.suite or {}).get("conform_levels") if final else None
        conform, calibration = None, {}
        if final:  # calibration (NLL, ECE, accuracy at 90% coverage): the final evaluation only
            clean, calibration["clean"] = scored(model, x, y, device)
            if "gaussian_calibration" in scores:
                calibration["gaussian"] = scores["gaussian_calibration"]
            if conform_levels is not None:
                conform, calibration["conform"] = scored(model, x, y, device, level=conform_levels)
        metrics = Metrics(
            epoch=epoch, step=step, answers=self.book.used, clean=clean,
            gaussian=scores.get("gaussian"), all=scores.get("all"),
            curve_levels=list(settings.grid), curve_accuracy=curve, loss=loss, final=final,
            per_corruption=scores.get("per_corruption", {}), level_counts=self.table.counts(), subset=subset,
            conform=conform, calibration=calibration, all_unimitated=scores.get("all_unimitated"),
            mean_level=self.mean_training_level(),
        )
        if final and has_suite:
            self.suite_info = (scores["suite"], scores["suite_source"])
        return metrics

    def result(self, final: Metrics, history: list[Metrics], epochs_done: int, stopped_early: bool,
               seconds: float) -> RunResult:
        """The finished run's record, from its final evaluation and its history."""
        suite, source = self.suite_info
        return RunResult(
            method=self.settings.method, seed=self.settings.seed, clean=final.clean, gaussian=final.gaussian,
            all=final.all, per_corruption=final.per_corruption, curve_levels=final.curve_levels,
            curve_accuracy=final.curve_accuracy, queries_used=self.book.used, budget=self.book.budget,
            epochs_done=epochs_done, stopped_early=stopped_early, seconds=seconds,
            device=describe(self.device), suite=suite, suite_source=source,
            history=[vars(m) for m in history], conform=final.conform, calibration=final.calibration,
            all_unimitated=final.all_unimitated, mean_level=final.mean_level, augment=self.settings.augment,
        )
