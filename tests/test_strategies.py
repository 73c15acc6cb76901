"""Each sampling strategy picks the right examples from a hand-made pool."""

import torch

from app.engine.strategies import margin, normalised_entropy, select

# Five pool examples, three classes: 0 very confident, 1 certain-ish, 2 uniform (max entropy),
# 3 nearly a two-way tie (small margin, high entropy), 4 mildly unsure.
POOL = torch.tensor([
    [0.998, 0.001, 0.001],
    [0.90, 0.05, 0.05],
    [1 / 3, 1 / 3, 1 / 3],
    [0.50, 0.45, 0.05],
    [0.70, 0.20, 0.10],
])


def test_entropy_is_normalised():
    h = normalised_entropy(POOL)
    assert abs(float(h[2]) - 1.0) < 1e-6 and float(h[0]) < 0.02


def test_conformity_takes_both_ends_of_the_entropy_ranking():
    picked, utilities = select("conformity", POOL, 2)
    assert sorted(picked.tolist()) == [0, 2]  # most excessive-looking and most deficient-looking
    picked, _ = select("conformity", POOL, 3)
    assert sorted(picked.tolist()) == [0, 2, 3]  # odd budgets favour the high-entropy end
    assert torch.allclose(utilities, normalised_entropy(POOL))


def test_max_entropy_takes_the_top():
    picked, _ = select("max-entropy", POOL, 2)
    assert picked.tolist() == [2, 3]


def test_margin_takes_the_smallest_margins():
    picked, utilities = select("margin", POOL, 2)
    assert picked.tolist() == [2, 3]
    assert torch.allclose(utilities, 1 - margin(POOL))


def test_random_is_seeded_and_without_repeats():
    a, _ = select("random", POOL, 4, torch.Generator().manual_seed(1))
    b, _ = select("random", POOL, 4, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and len(set(a.tolist())) == 4


def test_never_more_than_the_pool():
    picked, _ = select("conformity", POOL, 50)
    assert sorted(picked.tolist()) == [0, 1, 2, 3, 4]
