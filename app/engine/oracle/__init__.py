"""Oracles answer queries: the expert (through the GUI), a simulated one, or a replay of a recording."""

from app.engine.oracle.base import NoisyOracle, Oracle, nearest_grid_level
from app.engine.oracle.perceptual import PerceptualOracle
from app.engine.oracle.recipes import RECIPES, make_simulated_oracle
from app.engine.oracle.replay import ReplayOracle
from app.engine.oracle.simulated import SimulatedOracle

__all__ = [
    "NoisyOracle", "Oracle", "PerceptualOracle", "RECIPES", "ReplayOracle", "SimulatedOracle",
    "make_simulated_oracle", "nearest_grid_level",
]
