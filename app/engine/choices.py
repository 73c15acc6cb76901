"""The names each setting may take, checked in one place above the registries it reads
(methods, strategies, models, simulated experts, propagations, augmentations, and the fixed
lists of settings.py). `Settings.validate()` checks types and ranges; `validated()` runs it,
then checks the names; the command line's choices and the GUI's lists read the same `CHOICES`."""

from app.engine.augment import AUGMENTATIONS
from app.engine.methods import METHODS
from app.engine.oracle.recipes import RECIPES
from app.engine.propagate import PROPAGATE_AS, PROPAGATIONS
from app.engine.settings import CEILINGS, DEVICES, MODES, PRECISIONS, Settings
from app.engine.strategies import STRATEGIES
from app.registry import check_name
from models import MODEL_CHOICES

# setting → the names it may take, checked in this order
CHOICES = {
    "method": METHODS, "strategy": STRATEGIES, "mode": MODES, "device": DEVICES, "model": MODEL_CHOICES,
    "reference_model": MODEL_CHOICES, "oracle_recipe": RECIPES, "precision": PRECISIONS, "propagate": PROPAGATIONS,
    "propagate_as": PROPAGATE_AS, "augment": AUGMENTATIONS, "unanswered_ceiling": CEILINGS,
}


def check_names(settings: Settings) -> Settings:
    """A one-line SettingsError for the first setting whose name no registry knows."""
    for name, names in CHOICES.items():
        check_name(getattr(settings, name), names, name.replace("_", "-"))
    return settings


def validated(settings: Settings) -> Settings:
    """Types and ranges (Settings.validate), then names: what every run checks first."""
    return check_names(settings.validate())
