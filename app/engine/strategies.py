"""Sampling strategies as pure functions (the scikit-activeml / modAL pattern):
`select(strategy, probs, b, generator) -> (positions, utilities)`.

`probs` are the model's softmax outputs on the unqueried pool, each example perturbed at
its current level; positions index into that pool. The headless run and the GUI call the
same functions, and the utilities can be plotted.
"""

import math
from typing import Callable

import torch

# The registry of strategies: name → function(probs, b, generator) → (positions, utilities),
# with 0 < b ≤ len(probs). The command line, the GUI and Settings.validate() read the names.
STRATEGIES: dict[str, Callable] = {}


def strategy(name: str):
    """Register a strategy under `name` (as torchvision's `register_model`)."""

    def register(function):
        STRATEGIES[name] = function
        return function

    return register


def normalised_entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(p) / log K, in [0, 1]."""
    k = probs.shape[1]
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
    return entropy / math.log(k)


def margin(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 minus top-2 probability: small margins are uncertain."""
    top2 = probs.topk(2, dim=1).values
    return top2[:, 0] - top2[:, 1]


def select(strategy: str, probs: torch.Tensor, b: int, generator: torch.Generator | None = None):
    """Pick `b` pool positions. Returns (positions LongTensor, utilities FloatTensor for the whole pool)."""
    n = len(probs)
    b = min(b, n)
    if b <= 0:
        return torch.empty(0, dtype=torch.long), torch.empty(n)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[strategy](probs, b, generator)


@strategy("conformity")
def conformity(probs: torch.Tensor, b: int, generator=None):
    # Two-sided (METHOD.md): high entropy suggests an excessive level, very low entropy a
    # deficient one; half the batch from each end.
    n = len(probs)
    h = normalised_entropy(probs)
    order = torch.argsort(h, descending=True, stable=True)
    high = b - b // 2
    picked = torch.cat((order[:high], order[n - b // 2 :] if b // 2 else order[:0]))
    return picked, h


@strategy("random")
def at_random(probs: torch.Tensor, b: int, generator=None):
    n = len(probs)
    return torch.randperm(n, generator=generator)[:b], torch.zeros(n)


@strategy("max-entropy")
def max_entropy(probs: torch.Tensor, b: int, generator=None):
    h = normalised_entropy(probs)
    return torch.argsort(h, descending=True, stable=True)[:b], h


@strategy("margin")
def smallest_margin(probs: torch.Tensor, b: int, generator=None):
    m = margin(probs)
    return torch.argsort(m, stable=True)[:b], 1.0 - m
