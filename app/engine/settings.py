"""Run settings: one dataclass, defaults from resources/defaults.toml, validation with one-line errors."""

import math
import tomllib
import types
from dataclasses import asdict, dataclass, field, fields, replace

from app.engine.errors import SettingsError

METHODS = ("standard", "gnt", "cat", "aqpl-gnt", "aqpl-cat")
STRATEGIES = ("conformity", "random", "max-entropy", "margin")
MODES = ("synchronous", "continuous")
DEVICES = ("auto", "cpu", "cuda", "mps")
# Seeds feed torch's 64-bit generators after a multiplication (seed · 100003 + epoch): keep
# them to 32 bits so every derived seed fits.
SEED_RANGE = (-(2**31), 2**32 - 1)
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

    def per_round(self, train_size: int) -> int:
        rounds = len(self.round_epochs())
        if self.queries_per_round > 0:
            return self.queries_per_round
        return math.ceil(self.budget_count(train_size) / rounds) if rounds else 0

    # -- validation -----------------------------------------------------------------
    def validate(self) -> "Settings":
        _check_types(self)
        from models import MODELS

        _choice("method", self.method, METHODS)
        _choice("model", self.model, MODELS)
        _choice("reference_model", self.reference_model, MODELS)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("mode", self.mode, MODES)
        _choice("device", self.device, DEVICES)
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
            _check_text("data_dir", self.data_dir)
        for name in ("gnt_sigma", "cat_eta", "cat_eps_max", "lr", "momentum", "weight_decay", "cat_smoothing"):
            value = getattr(self, name)
            if value is None:
                continue
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


def _check_text(name: str, value: str) -> None:
    """Paths are stored as UTF-8 text (settings.toml, reports): a name with undecodable bytes
    cannot be."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise SettingsError(f"{name} '{shown}' is not valid UTF-8: rename the folder (or link it under a UTF-8 name)") from None


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
