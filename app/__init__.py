"""AQPL Studio: Active Query of Perturbation Levels for corruption-robust image classifiers."""

__version__ = "0.1.0"
