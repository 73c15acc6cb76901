"""The method's details that are easy to get wrong and hard to see in a result: each test here
fails on a specific, plausible mistake (named in its docstring), with models whose output
depends on their input and that have batch norm (so train and eval mode differ)."""

import torch
import torch.nn.functional as F
from torch import nn

from app.engine.data.dataset import to_float
from app.engine.methods import make_policy
from app.engine.oracle import ReplayOracle
from app.engine.settings import Settings
from app.engine.strategies import normalised_entropy, select, target_entropy
from app.engine.trainer import Trainer
from tests.helpers import slice_dataset


class NoiseMeter(nn.Module):
    """Predicts class 0 while the image's pixel spread stays below `limit`, class 1 above.
    The spread goes through a BatchNorm layer with fresh statistics: the identity in eval mode,
    a batch normalisation (mixed answers) in train mode, where it also updates its statistics."""

    def __init__(self, limit: float):
        super().__init__()
        self.limit = limit
        self.norm = nn.BatchNorm1d(1)

    def forward(self, x):
        spread = self.norm(x.flatten(1).std(1, keepdim=True))
        return torch.cat((self.limit - spread, spread - self.limit), dim=1) * 50


def grey_batch(n=64):
    x = torch.full((n, 1, 28, 28), 0.5)  # no clamping at these levels: spread ≈ the level
    return x, torch.randn(x.shape, generator=torch.Generator().manual_seed(0)), torch.arange(n), torch.zeros(n, dtype=torch.long)


def test_cat_checks_the_raised_level_not_the_current_one():
    """Mistake caught: the CAT check perturbing at ε_i instead of ε_i + η."""
    policy = make_policy(Settings(method="cat", cat_eta=0.1, cat_eps_max=1.0).validate())
    table = policy.new_table(64)
    table.level[:] = 0.2
    x, noise, ids, y = grey_batch()
    meter = NoiseMeter(limit=0.25).train()  # right at 0.2, wrong at 0.3
    levels = policy.batch_levels(meter, x, y, ids, noise, table, None)
    assert torch.allclose(levels, torch.full((64,), 0.2)) and torch.allclose(table.level, torch.full((64,), 0.2))
    meter = NoiseMeter(limit=0.35).train()  # right at 0.3 too: the increase is kept
    levels = policy.batch_levels(meter, x, y, ids, noise, table, None)
    assert torch.allclose(levels, torch.full((64,), 0.3))


def test_cat_check_runs_in_eval_mode_and_leaves_batch_norm_alone():
    """Mistake caught: the CAT check run in train mode (batch statistics decide the answer, and
    the running statistics learn from the perturbed check images)."""
    policy = make_policy(Settings(method="cat", cat_eta=0.1, cat_eps_max=1.0).validate())
    table = policy.new_table(64)
    table.level[:] = 0.2
    x, noise, ids, y = grey_batch()
    meter = NoiseMeter(limit=0.25).train()
    policy.batch_levels(meter, x, y, ids, noise, table, None)
    assert meter.training  # the trainer's mode is restored
    assert int(meter.norm.num_batches_tracked) == 0 and float(meter.norm.running_mean) == 0.0
    assert torch.allclose(table.level, torch.full((64,), 0.2))  # train mode would raise about half


def test_aqpl_gnt_trains_an_answered_example_at_the_experts_level(small, tmp_path):
    """Mistake caught: AQPL-GNT ignoring the answer (training every noisy example at σ)."""
    small = slice_dataset(small, 300, 50)
    answers = torch.full((len(small.train_x),), 0.2)
    torch.save({"levels": answers}, tmp_path / "levels.pt")
    settings = Settings(method="aqpl-gnt", gnt_sigma=0.7, gnt_p_clean=0.0, epochs=2, warmup_epochs=1,
                        budget="40", batch_size=100, eval_every=0, grid=[0.0, 0.2, 0.7])
    trainer = Trainer(settings, small, oracle=ReplayOracle(tmp_path / "levels.pt"))
    trainer.run()
    answered = torch.tensor(sorted(trainer.book.answered))
    assert len(answered) == 40
    x = to_float(small.train_x[answered])
    y = small.train_y[answered]
    levels = trainer.policy.batch_levels(trainer.model, x, y, answered, torch.randn_like(x), trainer.table, torch.Generator())
    assert torch.allclose(levels, torch.full((40,), 0.2))
    others = torch.tensor([i for i in range(len(small.train_x)) if i not in trainer.book.answered][:40])
    levels = trainer.policy.batch_levels(trainer.model, x, y, others, torch.randn_like(x), trainer.table, torch.Generator())
    assert torch.allclose(levels, torch.full((40,), 0.7))


def test_pool_scoring_perturbs_each_example_at_its_own_level(small):
    """Mistake caught: scoring the pool at level 0 (or any one level) instead of each example's."""
    trainer = Trainer(Settings(method="aqpl-gnt", epochs=1, batch_size=100, eval_every=0), small)
    pool = torch.arange(40)
    trainer.table.level[:20] = 0.0
    trainer.table.level[20:40] = 1.0
    probs = trainer.score_pool(pool)  # (draws, 40, K)
    trainer.model.eval()
    with torch.no_grad():
        clean = torch.softmax(trainer.model(to_float(small.train_x[pool])), dim=1)
    assert probs.shape[1:] == (40, 10) and probs.shape[0] >= 2
    for draw in probs:
        assert torch.allclose(draw[:20], clean[:20], atol=1e-5)  # level 0: the clean image
        assert (draw[20:] - clean[20:]).abs().sum(1).min() > 1e-3  # level 1.0: every one perturbed
    assert (probs[0, 20:] - probs[1, 20:]).abs().sum() > 1e-3  # the draws are different noise


def test_conformity_scores_uncertainty_beyond_the_smoothed_target():
    """Mistake caught: raw entropy, which under CAT's label smoothing ranks examples by level."""
    k = 10
    levels = torch.tensor([0.1, 0.3, 0.6, 1.0])
    weights = 0.5 * levels  # c = 0.5 / ε_max with ε_max = 1.0
    # a model that fits every example's smoothed target exactly …
    probs = (1 - weights).unsqueeze(1) * F.one_hot(torch.zeros(4, dtype=torch.long), k) + (weights / k).unsqueeze(1)
    # … except example 0, which is more uncertain than its (nearly one-hot) target asks
    probs[0] = torch.tensor([0.7] + [0.3 / 9] * 9)
    target = target_entropy(weights, k)
    assert torch.allclose(target[1:], normalised_entropy(probs[1:]), atol=1e-6)  # ỹ's own entropy
    picked, utilities = select("conformity", probs, 1, target_entropy=target)
    assert picked.tolist() == [0]
    assert torch.allclose(utilities[1:], torch.zeros(3), atol=1e-5)
    raw_pick, _ = select("max-entropy", probs, 1)
    assert raw_pick.tolist() == [3]  # what raw entropy would have asked about instead


def test_conformity_averages_entropy_over_noise_draws():
    confident = torch.tensor([[0.98] + [0.02 / 9] * 9])
    uniform = torch.full((1, 10), 0.1)
    one_lucky_draw = torch.stack((torch.cat((uniform, confident)), torch.cat((uniform, uniform))))  # (2 draws, 2, K)
    _, utilities = select("conformity", one_lucky_draw, 1)
    assert float(utilities[0]) > 0.99
    expected = (float(normalised_entropy(confident)) + 1.0) / 2
    assert abs(float(utilities[1]) - expected) < 1e-5


def test_aqpl_cat_answer_above_eps_max_keeps_the_true_class_favoured():
    """Mistake caught: c·ε growing past 0.5 when an answer lifts an example above ε_max."""
    settings = Settings(method="aqpl-cat", cat_eps_max=0.6).validate()  # c = 0.5 / 0.6
    policy = make_policy(settings)
    table = policy.new_table(2)
    table.set_expert(0, 1.0, step=0, cap=policy.expert_cap(1.0))
    assert float(table.cap[0]) == 1.0
    assert torch.allclose(policy.smoothing_weight(torch.tensor([0.3, 0.6, 1.0])), torch.tensor([0.25, 0.5, 0.5]))
    logits = torch.randn(1, 10)
    y = torch.tensor([3])
    target = 0.5 * F.one_hot(y, 10).float() + 0.05
    expected = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    assert torch.allclose(policy.loss(logits, y, torch.tensor([1.0])), expected)
