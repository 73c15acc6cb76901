"""Corruption suites: MNIST-C and ImageNet-C (CIFAR-10-C / Tiny-ImageNet-C tables).

    suite = get_suite(suite_for(dataset))
    corrupted = suite.apply("fog", dataset.test_x[:64], severity=3, seed=0)
    loaded = load_suite(dataset)            # released files when present, else generated + cached
    scores = evaluate_suite(model_fn, loaded)   # {"gaussian", "all", "corruptions": {...}}

No Qt here: the engine, the command line and the GUI all use this package.
"""

from app.engine.corruptions.evaluate import evaluate_suite, set_accuracy, summarize
from app.engine.corruptions.loading import CorruptedSet, load_suite
from app.engine.corruptions.suite import GAUSSIAN, SUITES, Suite, get_suite, suite_for
from app.engine.corruptions.writer import write_suite

__all__ = [
    "GAUSSIAN", "SUITES", "CorruptedSet", "Suite", "evaluate_suite", "get_suite", "load_suite", "set_accuracy",
    "suite_for", "summarize", "write_suite",
]
