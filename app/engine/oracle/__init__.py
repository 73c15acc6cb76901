"""Oracles answer queries: the expert (through the GUI), a simulated one, or a replay of a recording."""

from app.engine.oracle.base import NoisyOracle, Oracle, nearest_grid_level
from app.engine.oracle.replay import ReplayOracle
from app.engine.oracle.simulated import SimulatedOracle

__all__ = ["NoisyOracle", "Oracle", "ReplayOracle", "SimulatedOracle", "nearest_grid_level"]
