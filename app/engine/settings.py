"""Run settings: one dataclass, validation with one-line errors.

The defaults have one source, resources/defaults.toml: the dataclass's own defaults are its
`[common]` + `[gray]` tables (read once at import), `defaults_for(family)` picks the family's
table, and the GUI adds `[gui]`. The names a setting may take (methods, strategies, models)
come from their registries (app/engine/methods.py, app/engine/strategies.py, models/registry.py,
app/engine/oracle/recipes.py).
"""

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace

from app.engine.errors import SettingsError

MODES = ("synchronous", "continuous")
DEVICES = ("auto", "cpu", "cuda", "mps")
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
    propagate: str = _DEFAULTS["propagate"]  # level propagation after each round (app/engine/propagate.py)
    oracle_recipe: str = _DEFAULTS["oracle_recipe"]  # the simulated expert (app/engine/oracle/recipes.py)
    oracle_tau: float = _DEFAULTS["oracle_tau"]  # perceptual: similarity threshold, fitted by benchmarks/calibrate_oracle.py
    oracle_blur: float = _DEFAULTS["oracle_blur"]  # perceptual: the eye's blur in pixels
    reference_model: str = _DEFAULTS["reference_model"]  # noise-reference recipe only
    reference_epochs: int = _DEFAULTS["reference_epochs"]

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
        from app.engine.methods import METHODS
        from app.engine.oracle.recipes import RECIPES
        from app.engine.propagate import PROPAGATIONS
        from app.engine.strategies import STRATEGIES
        from models import MODEL_CHOICES

        _choice("method", self.method, METHODS)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("mode", self.mode, MODES)
        _choice("device", self.device, DEVICES)
        _choice("model", self.model, MODEL_CHOICES)
        _choice("reference-model", self.reference_model, MODEL_CHOICES)
        _choice("oracle-recipe", self.oracle_recipe, RECIPES)
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


def _choice(name: str, value: str, options) -> None:
    if value not in options:
        raise SettingsError(f"unknown {name} {value!r}: choose one of {', '.join(options)}")


def defaults_for(family: str, gui: bool = False, **overrides) -> Settings:
    """Settings with the family's defaults (and the GUI's, with `gui`), then `overrides` (None
    values are ignored)."""
    values = load_defaults(family, gui)
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["budget"] = str(values["budget"])
    return replace(Settings(), **values)
