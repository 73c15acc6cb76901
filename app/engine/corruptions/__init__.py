"""Corruption suites: MNIST-C and ImageNet-C (CIFAR-10-C / Tiny-ImageNet-C tables).

    suite = get_suite(suite_for(dataset))
    corrupted = suite.apply("fog", dataset.test_x[:64], severity=3, seed=0)
    loaded = load_suite(dataset)            # released files when present, else generated + cached

No Qt here: the engine, the command line and the GUI all use this package.
"""

from app.engine.corruptions.suite import GAUSSIAN, SUITES, Suite, get_suite, suite_for

__all__ = ["GAUSSIAN", "SUITES", "Suite", "get_suite", "suite_for"]
