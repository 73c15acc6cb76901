"""Simulated-expert recipes by name (`--oracle-recipe`): results record which one answered.

* `perceptual` (default): the calibrated model of a person (app/engine/oracle/perceptual.py).
* `noise-reference`: the first recipe, a reference network trained on every grid level; kept so
  that results made with it can be reproduced (it answers far above what people report).
"""

from app.engine.oracle.perceptual import PerceptualOracle
from app.engine.oracle.simulated import SimulatedOracle


def _perceptual(dataset, settings, device, progress):
    return PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur, progress)


def _noise_reference(dataset, settings, device, progress):
    return SimulatedOracle(dataset, settings.grid, settings.reference_model, settings.reference_epochs, device, progress)


RECIPES = {"perceptual": _perceptual, "noise-reference": _noise_reference}


def make_simulated_oracle(dataset, settings, device, progress=None):
    """The simulated expert that `settings.oracle_recipe` names (validated by Settings)."""
    return RECIPES[settings.oracle_recipe](dataset, settings, device, progress)
