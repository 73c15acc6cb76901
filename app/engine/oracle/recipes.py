"""Simulated-expert recipes by name (`--oracle-recipe`): results record which one answered.

* `perceptual` (default): the calibrated model of a person (app/engine/oracle/perceptual.py).
* `noise-reference`: the first recipe, a reference network trained on every grid level; kept so
  that results made with it can be reproduced (it answers far above what people report).
"""

from app.engine.oracle.perceptual import PerceptualOracle
from app.engine.oracle.shipped import use_shipped_levels
from app.engine.oracle.simulated import SimulatedOracle
from app.registry import Registry

RECIPES = Registry("oracle-recipe")  # name → factory(dataset, settings, device, progress)


@RECIPES.register("perceptual", label="perceptual (calibrated on hand-given answers)")
def _perceptual(dataset, settings, device, progress):
    return PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur, progress)


@RECIPES.register("noise-reference", label="noise-reference (the first recipe)")
def _noise_reference(dataset, settings, device, progress):
    return SimulatedOracle(dataset, settings.grid, settings.reference_model, settings.reference_epochs, device, progress)


def make_simulated_oracle(dataset, settings, device, progress=None):
    """The simulated expert that `settings.oracle_recipe` names (validated by app/engine/choices.py), with
    its conform levels already in hand when resources/ ships them for this exact oracle."""
    oracle = RECIPES[settings.oracle_recipe](dataset, settings, device, progress)
    use_shipped_levels(oracle)
    return oracle
