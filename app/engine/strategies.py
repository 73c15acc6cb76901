"""Sampling strategies as pure functions (the scikit-activeml / modAL pattern):
`select(strategy, probs, b, generator) -> (positions, utilities)`.

`probs` are the model's softmax outputs on the unqueried pool, each example perturbed at
its current level: (N, K), or (D, N, K) for D noise draws; positions index into that pool.
`target_entropy` (N,) is the normalised entropy of each example's own training target (label
smoothing makes it > 0 under CAT). The headless run and the GUI call the same functions, and
the utilities can be plotted.
"""

import math

import torch

from app.registry import Registry

# The registry of strategies: name → function(probs, b, generator, target_entropy) →
# (positions, utilities), with 0 < b ≤ pool size. The command line, the GUI and validation
# read the names; `@strategy(name)` registers one.
STRATEGIES = Registry("strategy")
strategy = STRATEGIES.register


def normalised_entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(p) / log K, in [0, 1]."""
    k = probs.shape[1]
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
    return entropy / math.log(k)


def margin(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 minus top-2 probability: small margins are uncertain."""
    top2 = probs.topk(2, dim=1).values
    return top2[:, 0] - top2[:, 1]


def conformity(probs: torch.Tensor, target_entropy: torch.Tensor | None = None) -> torch.Tensor:
    """Uncertainty beyond what the example's own training target asks for, averaged over draws:
    mean_d H(p_d)/log K − H(ỹ(ε_i))/log K. A model that fits CAT's smoothed targets has entropy
    0.22 at ε = 0.2 and 0.73 at ε = 1.0; raw entropy would mostly rank examples by their level."""
    entropy = normalised_entropy(probs.flatten(0, -2)).view(probs.shape[:-1])
    if probs.ndim == 3:
        entropy = entropy.mean(0)
    return entropy - target_entropy if target_entropy is not None else entropy


def target_entropy(weight: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised entropy of ỹ = (1 − w)·onehot + w/K for each smoothing weight w."""
    top = 1.0 - weight + weight / k
    rest = weight / k
    entropy = -(top * top.clamp_min(1e-12).log() + (k - 1) * rest * rest.clamp_min(1e-12).log())
    return entropy / math.log(k)


def select(strategy: str, probs: torch.Tensor, b: int, generator: torch.Generator | None = None,
           target_entropy: torch.Tensor | None = None, random_share: float = 0.0):
    """Pick `b` pool positions. Returns (positions LongTensor, utilities FloatTensor for the whole pool).
    random_share: that share of the b picks (rounded) is drawn uniformly from the rest of the pool,
    after the strategy's picks: conformity's picks are not a fair sample of the set (their answers
    run low), and a random share keeps what propagation learns from them representative."""
    n = probs.shape[-2] if probs.ndim >= 2 else len(probs)
    b = min(b, n)
    if b <= 0:
        return torch.empty(0, dtype=torch.long), torch.empty(n)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    at_random_count = int(round(random_share * b)) if strategy != "random" else 0
    positions, utilities = STRATEGIES[strategy](probs, b - at_random_count, generator, target_entropy)
    if at_random_count:
        rest = torch.ones(n, dtype=torch.bool)
        rest[positions] = False
        others = torch.nonzero(rest).flatten()
        drawn = others[torch.randperm(len(others), generator=generator)[:at_random_count]]
        positions = torch.cat((positions, drawn))
    return positions, utilities


@strategy("conformity")
def two_sided_conformity(probs, b: int, generator=None, target_entropy=None):
    # Two-sided (METHOD.md): more uncertainty than the target's suggests an excessive level,
    # the least a deficient one; half the batch from each end.
    n = probs.shape[-2]
    u = conformity(probs, target_entropy)
    order = torch.argsort(u, descending=True, stable=True)
    high = b - b // 2
    picked = torch.cat((order[:high], order[n - b // 2 :] if b // 2 else order[:0]))
    return picked, u


@strategy("random")
def at_random(probs, b: int, generator=None, target_entropy=None):
    n = probs.shape[-2]
    return torch.randperm(n, generator=generator)[:b], torch.zeros(n)


@strategy("max-entropy")
def max_entropy(probs, b: int, generator=None, target_entropy=None):
    h = normalised_entropy(_mean_over_draws(probs))
    return torch.argsort(h, descending=True, stable=True)[:b], h


@strategy("margin")
def smallest_margin(probs, b: int, generator=None, target_entropy=None):
    m = margin(_mean_over_draws(probs))
    return torch.argsort(m, stable=True)[:b], 1.0 - m


def _mean_over_draws(probs: torch.Tensor) -> torch.Tensor:
    return probs.mean(0) if probs.ndim == 3 else probs
