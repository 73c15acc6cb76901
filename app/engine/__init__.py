"""The Qt-free AQPL engine: data, perturbation, level policies, query rounds, oracles, evaluation."""
