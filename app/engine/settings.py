"""Run settings: one dataclass, validation with one-line errors.

The defaults have one source, resources/defaults.toml: the dataclass's own defaults are its
`[common]` + `[gray]` tables (read once at import), `defaults_for(family)` picks the family's
table, and the GUI adds `[gui]`. `Settings.validate()` checks types and ranges; the names a
setting may take (methods, strategies, models, ...) are checked against their registries in
app/engine/choices.py, which `validated()` there runs after it. What a method reads comes from
its entry in the method registry (app/engine/methods.py).
"""

import math
import os
import tomllib
import types
from dataclasses import asdict, dataclass, field, fields, replace

from app.engine.methods import METHODS
from app.errors import SettingsError

MODES = ("synchronous", "continuous")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "bf16", "fp32")  # app/engine/accel.py
# Seeds feed torch's 64-bit generators after a multiplication (seed · 100003 + epoch): keep
# them to 32 bits so every derived seed fits.
SEED_RANGE = (-(2**31), 2**32 - 1)
MAX_EPOCHS = 100_000  # beyond, the round schedule alone would exhaust memory (found by the fuzzer)
CEILINGS = ("eps-max", "answers")  # AQPL-CAT: what bounds an unanswered example's level
# what only the methods that ask queries read, and what each family reads (METHODS: `family`)
QUERY_SETTINGS = {"strategy", "mode", "budget", "queries_per_round", "warmup_epochs", "round_every", "annotator_noise",
                  "pool_subset", "reference_model", "reference_epochs", "oracle_recipe", "oracle_tau", "oracle_blur",
                  "propagate", "propagate_as", "idle_finish_s", "level_scale", "random_share"}
FAMILY_SETTINGS = {"gnt": {"gnt_sigma", "gnt_p_clean"},
                   "cat": {"cat_eta", "cat_eps_max", "cat_smoothing", "propagate_as", "unanswered_ceiling"}}
FAMILIES = ("gray", "colour")


def load_defaults(family: str, gui: bool = False) -> dict:
    """`[common]` merged with the family's table (`gray` or `colour`) from resources/defaults.toml,
    then `[gui]` for the desktop app."""
    from app.resources import resource_path

    with open(resource_path("defaults.toml"), "rb") as f:
        tables = tomllib.load(f)
    merged = dict(tables.get("common", {}))
    merged.update(tables.get(family, {}))
    if gui:
        merged.update(tables.get("gui", {}))
    merged["budget"] = str(merged["budget"])
    return merged


def load_table(name: str) -> dict:
    """Another table of resources/defaults.toml (e.g. `[reference]`, the reference model's recipe)."""
    from app.resources import resource_path

    with open(resource_path("defaults.toml"), "rb") as f:
        return dict(tomllib.load(f).get(name, {}))


_DEFAULTS = load_defaults("gray")


@dataclass
class Settings:
    dataset: str = _DEFAULTS["dataset"]
    data_dir: str | None = None
    image_size: int | None = None
    model: str = _DEFAULTS["model"]
    method: str = _DEFAULTS["method"]
    strategy: str = _DEFAULTS["strategy"]
    mode: str = _DEFAULTS["mode"]
    device: str = _DEFAULTS["device"]
    seed: int = _DEFAULTS["seed"]
    epochs: int = _DEFAULTS["epochs"]
    batch_size: int = _DEFAULTS["batch_size"]
    lr: float = _DEFAULTS["lr"]
    momentum: float = _DEFAULTS["momentum"]
    weight_decay: float = _DEFAULTS["weight_decay"]
    grid: list[float] = field(default_factory=lambda: list(_DEFAULTS["grid"]))
    budget: str = _DEFAULTS["budget"]
    queries_per_round: int = _DEFAULTS["queries_per_round"]
    warmup_epochs: int = _DEFAULTS["warmup_epochs"]
    round_every: int = _DEFAULTS["round_every"]
    gnt_sigma: float = _DEFAULTS["gnt_sigma"]
    gnt_p_clean: float = _DEFAULTS["gnt_p_clean"]
    cat_eta: float = _DEFAULTS["cat_eta"]
    cat_eps_max: float = _DEFAULTS["cat_eps_max"]
    cat_smoothing: float | None = None  # c in ỹ = (1 − cε)·onehot + cε/K; None: 0.5 / ε_max
    annotator_noise: float = _DEFAULTS["annotator_noise"]
    eval_every: int = _DEFAULTS["eval_every"]
    eval_subset: int = _DEFAULTS["eval_subset"]
    pool_subset: int = _DEFAULTS["pool_subset"]
    idle_finish_s: float = _DEFAULTS["idle_finish_s"]  # continuous mode with an expert: idle seconds that end the extension
    propagate: str = _DEFAULTS["propagate"]  # level propagation after each round (app/engine/propagate.py)
    propagate_as: str = _DEFAULTS["propagate_as"]  # AQPL-CAT: a prediction is the ceiling, or the level
    oracle_recipe: str = _DEFAULTS["oracle_recipe"]  # the simulated expert (app/engine/oracle/recipes.py)
    oracle_tau: float = _DEFAULTS["oracle_tau"]  # perceptual: similarity threshold, fitted by benchmarks/calibrate_oracle.py
    oracle_blur: float = _DEFAULTS["oracle_blur"]  # perceptual: the eye's blur in pixels
    reference_model: str = _DEFAULTS["reference_model"]  # noise-reference recipe only
    reference_epochs: int = _DEFAULTS["reference_epochs"]
    augment: str = _DEFAULTS["augment"]  # app/engine/augment.py: none, augmix, trivialaugment
    augment_severity: int = _DEFAULTS["augment_severity"]  # AugMix's severity
    level_scale: float = _DEFAULTS["level_scale"]  # relative levels: train at α·ε* (app/engine/methods.py)
    random_share: float = _DEFAULTS["random_share"]  # share of a round's picks drawn at random
    unanswered_ceiling: str = _DEFAULTS["unanswered_ceiling"]  # AQPL-CAT: "eps-max" (the paper) or "answers"
    sigma_statistic: str = _DEFAULTS["sigma_statistic"]  # AQPL-σ: "mean" or a quantile "q0.75"
    soft_ramp: float = _DEFAULTS["soft_ramp"]  # AQPL-soft: uniform target this far above ε*
    precision: str = _DEFAULTS["precision"]  # training steps: bf16 autocast on CUDA (auto), or bf16 / fp32 everywhere

    # -- derived values -------------------------------------------------------------
    @property
    def uses_queries(self) -> bool:
        entry = METHODS.entry(self.method)
        return bool(entry and entry.uses_queries)

    def inert(self) -> set[str]:
        """Settings this method never reads: a finished Standard run is still the same run
        whatever the query budget or GNT's σ say (a re-run may reuse it)."""
        entry = METHODS.entry(self.method)
        names = set()
        if not self.uses_queries:
            names |= QUERY_SETTINGS
        for family, read in FAMILY_SETTINGS.items():
            if entry is None or entry.family != family:
                names |= read
        for name in METHODS:  # settings that only one method reads
            if name != self.method:
                names |= set(METHODS.entry(name).facts.get("reads", ()))
        if self.propagate == "none":
            names.add("propagate_as")
        if self.augment != "augmix":
            names.add("augment_severity")
        return names

    @property
    def smoothing(self) -> float:
        if self.cat_smoothing is not None:
            return self.cat_smoothing
        return 0.5 / self.cat_eps_max if self.cat_eps_max > 0 else 0.0

    def budget_count(self, train_size: int) -> int:
        """The budget as a number of queries ("300" or "5%" of the training set)."""
        return min(self._budget_value(train_size), train_size)

    def _budget_value(self, train_size: int) -> int:
        """The budget as asked, before it is capped at the training set's size."""
        text = str(self.budget).strip()
        try:
            value = float(text[:-1]) * train_size / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise SettingsError(f"budget {self.budget!r} is not a number: give a count (300) or a share (5%)") from None
        if math.isnan(value) or math.isinf(value):
            raise SettingsError(f"budget {self.budget!r} is not a finite number: give a count (300) or a share (5%)")
        if value < 0:
            raise SettingsError(f"budget {self.budget!r} is negative: give a count ≥ 0 (300) or a share (5%)")
        return int(round(value))

    def notices(self, train_size: int) -> list[str]:
        """Decisions taken on the user's behalf that are not errors: shown as warnings."""
        notes = []
        if self.uses_queries and self._budget_value(train_size) > train_size:
            notes.append(
                f"budget {self.budget} asks for {self._budget_value(train_size)} queries but the training set has "
                f"{train_size} examples: at most {train_size} are asked (give a budget up to 100%)"
            )
        return notes

    def round_epochs(self) -> list[int]:
        """Epochs (1-based) after which a query round runs; none after the last epoch,
        since no training would follow to use the answers."""
        if not self.uses_queries:
            return []
        # An untrained model cannot judge conformity: the first round follows at least one epoch.
        return list(range(max(self.warmup_epochs, 1), self.epochs, self.round_every))

    def batches_per_epoch(self, train_size: int) -> int:
        return math.ceil(train_size / self.batch_size)

    def total_batches(self, train_size: int) -> int:
        """Optimiser steps of the planned epochs (an expert-paced session may add more)."""
        return self.epochs * self.batches_per_epoch(train_size)

    def per_round(self, train_size: int) -> int:
        rounds = len(self.round_epochs())
        if self.queries_per_round > 0:
            return self.queries_per_round
        return math.ceil(self.budget_count(train_size) / rounds) if rounds else 0

    # -- validation -----------------------------------------------------------------
    def validate(self) -> "Settings":
        _check_types(self)
        if not (1 <= self.augment_severity <= 10):
            raise SettingsError(f"augment-severity is {self.augment_severity}: AugMix's severity is a whole number from 1 to 10")
        if self.sigma_statistic != "mean" and not _is_quantile(self.sigma_statistic):
            raise SettingsError(f"sigma-statistic {self.sigma_statistic!r}: give mean, or a quantile such as q0.75")
        if not (0.0 < self.level_scale <= 10.0 and math.isfinite(self.level_scale)):
            raise SettingsError(f"level-scale is {self.level_scale}: α scales the expert's levels, give a number in (0, 10]")
        if not (0.0 < self.soft_ramp <= 1.0):
            raise SettingsError(f"soft-ramp is {self.soft_ramp}: give the width in σ over which the target turns uniform, in (0, 1]")
        if not (0.0 < self.oracle_tau < 1.0) or self.oracle_blur < 0:
            raise SettingsError(
                f"oracle-tau {self.oracle_tau} / oracle-blur {self.oracle_blur}: τ is a correlation in (0, 1) and the blur a width ≥ 0 pixels"
            )
        for name in ("epochs", "batch_size", "round_every"):
            if int(getattr(self, name)) < 1:
                raise SettingsError(f"{name.replace('_', '-')} is {getattr(self, name)}: it must be at least 1")
        if self.epochs > MAX_EPOCHS:
            raise SettingsError(f"epochs is {self.epochs}: give at most {MAX_EPOCHS:,}")
        for name in ("warmup_epochs", "queries_per_round", "eval_every", "eval_subset", "pool_subset", "reference_epochs"):
            if int(getattr(self, name)) < 0:
                raise SettingsError(f"{name.replace('_', '-')} is {getattr(self, name)}: it must not be negative")
        if not self.grid:
            raise SettingsError("the candidate grid is empty: give at least two levels, e.g. --grid 0,0.1,0.2,0.3")
        if len(self.grid) < 2:
            raise SettingsError(
                f"the candidate grid {self.grid} has one level, so the expert would have no choice: "
                "give at least two levels, e.g. --grid 0,0.1,0.2,0.3"
            )
        if not all(math.isfinite(g) for g in self.grid):
            raise SettingsError(f"grid {self.grid} holds a level that is not a finite number: give levels in [0, 1]")
        if any(not (0.0 <= g <= 1.0) for g in self.grid):
            raise SettingsError(f"grid {self.grid} has levels outside [0, 1]: levels are noise σ on the [0, 1] pixel scale")
        if any(b <= a for a, b in zip(self.grid, self.grid[1:])):
            raise SettingsError(f"grid {self.grid} is not strictly increasing: sort it and remove repeats")
        self.budget_count(1)  # raises on a negative or malformed budget
        if not (SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]):
            raise SettingsError(f"seed {self.seed} is out of range: give a whole number from 0 to {SEED_RANGE[1]}")
        if self.image_size is not None and self.image_size < 1:
            raise SettingsError(f"image-size is {self.image_size}: give a size in pixels of at least 1, e.g. --image-size 32")
        if self.data_dir is not None:
            check_text_path("data_dir", self.data_dir)
        for name in ("gnt_sigma", "cat_eta", "cat_eps_max", "lr", "momentum", "weight_decay", "cat_smoothing", "idle_finish_s"):
            value = getattr(self, name)
            if value is None:
                continue
            if not (value >= 0 and math.isfinite(value)):
                raise SettingsError(f"{name.replace('_', '-')} is {value}: it must be a number ≥ 0")
        for name in ("gnt_p_clean", "annotator_noise", "random_share"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0):
                raise SettingsError(f"{name.replace('_', '-')} is {value}: it is a probability, give a value in [0, 1]")
        if self.smoothing * self.cat_eps_max > 0.5 + 1e-9:
            raise SettingsError(
                f"cat-smoothing {self.smoothing} × cat-eps-max {self.cat_eps_max} exceeds 0.5: "
                "the smoothed label would no longer favour the true class; lower cat-smoothing"
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(unknown)}: remove them (known: see docs/headless.md, Settings)")
        return cls(**data)


_WORDS = {int: "a whole number", float: "a number", str: "text in quotes"}


def _check_types(settings: Settings) -> None:
    """Hand-edited settings.toml (and any caller) may hold a value of the wrong type
    (epochs = 2.5, batch_size = "128"): refuse it here, in one line, rather than as a TypeError
    deep inside training. Whole-number floats (epochs = 2.0) become ints."""
    defaults = Settings()
    for f in fields(Settings):
        value = getattr(settings, f.name)
        kind = f.type
        optional = isinstance(kind, types.UnionType) and type(None) in kind.__args__
        if optional:
            kind = next(k for k in kind.__args__ if k is not type(None))
        if value is None and optional:
            continue
        example = getattr(defaults, f.name)
        if isinstance(example, list):
            example = example[:4]
        if f.name == "budget":
            ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
            expected = "a count (300) or a share (\"5%\")"
        elif kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
                setattr(settings, f.name, value)
            ok = isinstance(value, int) and not isinstance(value, bool)
            expected = _WORDS[int]
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            expected = _WORDS[float]
        elif kind is str:
            ok = isinstance(value, str)
            expected = _WORDS[str]
        else:  # list[float]: the grid
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
            )
            expected = "a list of numbers"
            if ok:
                setattr(settings, f.name, [float(v) for v in value])
        if not ok:
            shown = f"{value!r}" if not isinstance(value, str) else f'"{value}"'
            raise SettingsError(
                f"{f.name} = {shown} has the wrong type ({type(value).__name__}): give {expected}"
                + (f", e.g. {f.name} = {example!r}" if example is not None and not isinstance(example, str) else "")
            )


def check_text_path(name: str, value: str) -> None:
    """Paths end up as text in settings.toml, reports and messages: one with bytes that are not
    UTF-8 cannot be written there (and torch's file writers abort on them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(value).decode("utf-8", "backslashreplace")
        raise SettingsError(f"{name} {shown} is not a valid UTF-8 path: rename the folder (or link it under a UTF-8 name)") from None


def _is_quantile(text: str) -> bool:
    try:
        return text.startswith("q") and 0.0 <= float(text[1:]) <= 1.0
    except ValueError:
        return False


def defaults_for(family: str, gui: bool = False, **overrides) -> Settings:
    """Settings with the family's defaults (and the GUI's, with `gui`), then `overrides` (None
    values are ignored)."""
    values = load_defaults(family, gui)
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["budget"] = str(values["budget"])
    return replace(Settings(), **values)
