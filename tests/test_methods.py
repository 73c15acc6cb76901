"""The level policies of METHOD.md, checked on hand-made models whose answers we control."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from app.engine.levels import Source
from app.engine.methods import make_policy
from app.engine.settings import Settings
from tests.helpers import settings

CAT = dict(method="cat", cat_eta=0.1, cat_eps_max=0.25)  # settings(CAT): CAT whose ceiling ε_max is 0.25


class ConstantClassifier(nn.Module):
    """Always predicts class 0, whatever the input: examples of class 0 are 'still correct'."""

    def forward(self, x):
        logits = torch.zeros(len(x), 10)
        logits[:, 0] = 5.0
        return logits


def batch(n=6):
    x = torch.full((n, 1, 28, 28), 0.5)
    return x, torch.randn_like(x), torch.arange(n)


def test_cat_raises_a_level_only_while_the_example_stays_correct_and_clips_to_eps_max():
    policy = make_policy(settings(CAT).validate())
    table = policy.new_table(6)
    x, noise, ids = batch()
    y = torch.tensor([0, 0, 0, 1, 1, 1])  # the model is right on the first three only
    levels = [policy.batch_levels(ConstantClassifier(), x, y, ids, noise, table, None).clone() for _ in range(4)]
    assert torch.allclose(levels[0], torch.tensor([0.1, 0.1, 0.1, 0, 0, 0]))
    assert torch.allclose(levels[1], torch.tensor([0.2, 0.2, 0.2, 0, 0, 0]))
    assert torch.allclose(levels[3], torch.tensor([0.25, 0.25, 0.25, 0, 0, 0]))  # clipped at ε_max
    assert table.source.tolist() == [Source.ADAPTED] * 3 + [Source.INITIAL] * 3


def test_cat_smooths_labels_with_the_level():
    cat = settings(CAT).validate()
    policy = make_policy(cat)
    c = cat.smoothing
    assert math.isclose(c * cat.cat_eps_max, 0.5)  # default c: smoothing reaches 0.5 at ε_max
    logits = torch.randn(3, 10)
    y = torch.tensor([2, 5, 7])
    levels = torch.tensor([0.0, 0.1, 0.25])
    target = torch.stack([(1 - c * e) * F.one_hot(t, 10).float() + c * e / 10 for t, e in zip(y, levels)])
    expected = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    assert torch.allclose(policy.loss(logits, y, levels), expected)
    assert torch.allclose(policy.loss(logits, y, torch.zeros(3)), F.cross_entropy(logits, y))


def test_aqpl_cat_never_exceeds_the_experts_level():
    settings = Settings(method="aqpl-cat", cat_eta=0.1, cat_eps_max=1.0).validate()
    policy = make_policy(settings)
    table = policy.new_table(4)
    x, noise, ids = batch(4)
    y = torch.zeros(4, dtype=torch.long)  # always classified correctly: CAT would keep raising
    for example, answer in ((0, 0.3), (1, 0.0)):
        table.set_expert(example, answer, step=0, cap=policy.expert_cap(answer))
    for _ in range(15):
        policy.batch_levels(ConstantClassifier(), x, y, ids, noise, table, None)
    assert torch.allclose(table.level[:2], torch.tensor([0.3, 0.0]))
    assert table.source[0] == Source.EXPERT
    assert torch.allclose(table.level[2:], torch.tensor([1.0, 1.0]))  # unqueried ones go up to ε_max


def test_gnt_keeps_a_clean_share_and_uses_the_experts_level_under_aqpl():
    policy = make_policy(Settings(method="aqpl-gnt", gnt_sigma=0.5, gnt_p_clean=0.5).validate())
    table = policy.new_table(2000)
    for example in range(0, 2000, 10):  # every tenth example answered at 0.2
        table.set_expert(example, 0.2, step=0, cap=policy.expert_cap(0.2))
    answered = torch.arange(2000) % 10 == 0
    x = torch.zeros(2000, 1, 1, 1)
    levels = policy.batch_levels(None, x, None, torch.arange(2000), None, table, torch.Generator().manual_seed(0))
    clean_share = float((levels == 0).float().mean())
    assert 0.45 < clean_share < 0.55
    rounded = [round(v, 6) for v in levels.tolist()]
    assert {v for v, a in zip(rounded, answered) if not a} == {0.0, 0.5}
    assert {v for v, a in zip(rounded, answered) if a} == {0.0, 0.2}  # the answer replaces σ, same clean share
    assert 0.35 < float((levels[answered] > 0).float().mean()) < 0.65


def test_standard_trains_clean():
    policy = make_policy(Settings(method="standard").validate())
    table = policy.new_table(5)
    x, noise, ids = batch(5)
    assert torch.equal(policy.batch_levels(None, x, None, ids, noise, table, None), torch.zeros(5))
