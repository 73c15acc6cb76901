"""Run settings: one dataclass, defaults from resources/defaults.toml, validation with one-line errors."""

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace

from app.engine.errors import SettingsError

METHODS = ("standard", "gnt", "cat", "aqpl-gnt", "aqpl-cat")
STRATEGIES = ("conformity", "random", "max-entropy", "margin")
MODES = ("synchronous", "continuous")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "bf16", "fp32")  # app/engine/accel.py
ORACLE_RECIPES = ("perceptual", "noise-reference")  # app/engine/oracle/recipes.py
PROPAGATIONS = ("none", "class", "neighbours")  # app/engine/propagate.py


@dataclass
class Settings:
    dataset: str = "embedded"
    data_dir: str | None = None
    image_size: int | None = None
    model: str = "auto"
    method: str = "aqpl-cat"
    strategy: str = "conformity"
    mode: str = "synchronous"
    device: str = "auto"
    seed: int = 0
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    grid: list[float] = field(default_factory=lambda: [round(0.1 * i, 1) for i in range(11)])
    budget: str = "5%"
    queries_per_round: int = 0
    warmup_epochs: int = 2
    round_every: int = 1
    gnt_sigma: float = 0.5
    gnt_p_clean: float = 0.5
    cat_eta: float = 0.1
    cat_eps_max: float = 1.0
    cat_smoothing: float | None = None  # c in ỹ = (1 − cε)·onehot + cε/K; None: 0.5 / ε_max
    annotator_noise: float = 0.0
    eval_every: int = 1
    eval_subset: int = 2000
    pool_subset: int = 0
    propagate: str = "none"  # level propagation after each round: none | class | neighbours (app/engine/propagate.py)
    oracle_recipe: str = "perceptual"  # the simulated expert's recipe (app/engine/oracle/recipes.py)
    oracle_tau: float = 0.9227  # perceptual: similarity threshold, fitted by benchmarks/calibrate_oracle.py
    oracle_blur: float = 1.0  # perceptual: the eye's blur in pixels
    reference_model: str = "small-cnn-wide"  # noise-reference recipe only
    reference_epochs: int = 15
    precision: str = "auto"  # training steps: bf16 autocast on CUDA (auto), or bf16 / fp32 everywhere

    # -- derived values -------------------------------------------------------------
    @property
    def uses_queries(self) -> bool:
        return self.method.startswith("aqpl-")

    def inert(self) -> set[str]:
        """Settings this method never reads: a finished Standard run is still the same run
        whatever the query budget or GNT's σ say (a re-run may reuse it)."""
        names = set()
        if not self.uses_queries:
            names |= {"strategy", "mode", "budget", "queries_per_round", "warmup_epochs", "round_every",
                      "annotator_noise", "pool_subset", "reference_model", "reference_epochs",
                      "oracle_recipe", "oracle_tau", "oracle_blur", "propagate"}
        if not self.method.endswith("gnt"):
            names |= {"gnt_sigma", "gnt_p_clean"}
        if not self.method.endswith("cat"):
            names |= {"cat_eta", "cat_eps_max", "cat_smoothing"}
        return names

    @property
    def smoothing(self) -> float:
        if self.cat_smoothing is not None:
            return self.cat_smoothing
        return 0.5 / self.cat_eps_max if self.cat_eps_max > 0 else 0.0

    def budget_count(self, train_size: int) -> int:
        """The budget as a number of queries ("300" or "5%" of the training set)."""
        text = str(self.budget).strip()
        try:
            value = float(text[:-1]) * train_size / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise SettingsError(f"budget {self.budget!r} is not a number: give a count (300) or a share (5%)") from None
        if value < 0 or math.isnan(value):
            raise SettingsError(f"budget {self.budget!r} is negative: give a count ≥ 0 (300) or a share (5%)")
        return min(int(round(value)), train_size)

    def round_epochs(self) -> list[int]:
        """Epochs (1-based) after which a query round runs; none after the last epoch,
        since no training would follow to use the answers."""
        if not self.uses_queries:
            return []
        # An untrained model cannot judge conformity: the first round follows at least one epoch.
        return list(range(max(self.warmup_epochs, 1), self.epochs, self.round_every))

    def per_round(self, train_size: int) -> int:
        rounds = len(self.round_epochs())
        if self.queries_per_round > 0:
            return self.queries_per_round
        return math.ceil(self.budget_count(train_size) / rounds) if rounds else 0

    # -- validation -----------------------------------------------------------------
    def validate(self) -> "Settings":
        _choice("method", self.method, METHODS)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("mode", self.mode, MODES)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("oracle recipe", self.oracle_recipe, ORACLE_RECIPES)
        _choice("propagate", self.propagate, PROPAGATIONS)
        if not (0.0 < self.oracle_tau < 1.0) or self.oracle_blur < 0:
            raise SettingsError(
                f"oracle-tau {self.oracle_tau} / oracle-blur {self.oracle_blur}: τ is a correlation in (0, 1) and the blur a width ≥ 0 pixels"
            )
        for name in ("epochs", "batch_size", "round_every"):
            if int(getattr(self, name)) < 1:
                raise SettingsError(f"{name.replace('_', '-')} is {getattr(self, name)}: it must be at least 1")
        for name in ("warmup_epochs", "queries_per_round", "eval_every", "eval_subset", "pool_subset", "reference_epochs"):
            if int(getattr(self, name)) < 0:
                raise SettingsError(f"{name.replace('_', '-')} is {getattr(self, name)}: it must not be negative")
        if not self.grid:
            raise SettingsError("the candidate grid is empty: give at least two levels, e.g. --grid 0,0.1,0.2,0.3")
        if any(not (0.0 <= g <= 1.0) for g in self.grid):
            raise SettingsError(f"grid {self.grid} has levels outside [0, 1]: levels are noise σ on the [0, 1] pixel scale")
        if any(b <= a for a, b in zip(self.grid, self.grid[1:])):
            raise SettingsError(f"grid {self.grid} is not strictly increasing: sort it and remove repeats")
        self.budget_count(1)  # raises on a negative or malformed budget
        for name in ("gnt_sigma", "cat_eta", "cat_eps_max", "lr"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise SettingsError(f"{name.replace('_', '-')} is {value}: it must be a number ≥ 0")
        for name in ("gnt_p_clean", "annotator_noise"):
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


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise SettingsError(f"unknown {name} {value!r}: choose one of {', '.join(options)}")


def load_defaults(family: str) -> dict:
    """`[common]` merged with the family's table (`gray` or `colour`) from resources/defaults.toml."""
    from app.resources import resource_path

    with open(resource_path("defaults.toml"), "rb") as f:
        tables = tomllib.load(f)
    merged = dict(tables.get("common", {}))
    merged.update(tables.get(family, {}))
    return merged


def defaults_for(family: str, **overrides) -> Settings:
    """Settings with the family's defaults, then `overrides` (None values are ignored)."""
    values = load_defaults(family)
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["budget"] = str(values["budget"])
    return replace(Settings(), **values)
