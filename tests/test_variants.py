"""The uses of the expert's answers beyond the paper (issue 21) and their pieces: relative levels
(α), AQPL-σ, AQPL-soft, a random share of the picks, CAT's ceiling from the answers, calibration,
augmentation. Each test fails when its variant is broken (checked by breaking each on purpose)."""

import math

import pytest
import torch
import torch.nn.functional as F

from app.engine.answers import Answer, Undo
from app.engine.augment import IMITATED, Augmenter
from app.engine.calibration import calibration
from app.engine.levels import Source
from app.engine.methods import make_policy
from app.engine.oracle import ReplayOracle
from app.engine.strategies import select
from app.engine.trainer import Trainer


def answer(trainer, example: int, level: float) -> None:
    """The example is asked (as a round would), then answered through the training thread's path."""
    trainer.requeue(example)
    trainer.submit_answer(example, level)
    trainer.drain_inbox()


@pytest.fixture
def settings(make_settings):
    def make(**kw):
        base = dict(epochs=2, warmup_epochs=1, batch_size=100, budget="100", queries_per_round=20, eval_every=0)
        base.update(kw)
        return make_settings(**base)

    return make


# -- relative levels --------------------------------------------------------------------------
def test_an_answer_becomes_alpha_times_its_level_clipped_to_the_grid(small, settings):
    trainer = Trainer(settings(method="aqpl-gnt", level_scale=2.0), small)
    answer(trainer, 5, 0.3)
    answer(trainer, 6, 0.7)
    assert trainer.table.level[5].item() == pytest.approx(0.6) and trainer.table.source[5] == Source.EXPERT
    assert trainer.table.level[6].item() == pytest.approx(1.0)  # 1.4, clipped to the grid's top
    assert trainer.book.answered[5] == pytest.approx(0.3)  # the expert's own answer is what is stored
    trainer.submit_undo(5)
    trainer.drain_inbox()
    assert trainer.table.level[5].item() == pytest.approx(trainer.settings.gnt_sigma)


def test_propagated_levels_are_scaled_too(small, settings):
    policy = make_policy(settings(method="aqpl-gnt", level_scale=1.5))
    table = policy.new_table(10)
    policy.apply_propagated(table, torch.arange(4), torch.tensor([0.2, 0.4, 0.6, 0.8]))
    assert torch.allclose(table.level[:4], torch.tensor([0.3, 0.6, 0.9, 1.0]))


# -- AQPL-σ ----------------------------------------------------------------------------------
def test_aqpl_sigma_trains_everyone_at_the_answers_mean(small, settings):
    trainer = Trainer(settings(method="aqpl-sigma", gnt_sigma=0.7, level_scale=1.5), small)
    assert torch.all(trainer.table.level == 0.7)  # no answer yet: GNT's σ
    answer(trainer, 1, 0.2)
    answer(trainer, 2, 0.4)
    assert torch.allclose(trainer.table.level, torch.full((len(small.train_x),), 0.45))  # 1.5 × 0.3, for all
    trainer.submit_undo(2)
    trainer.drain_inbox()
    assert torch.allclose(trainer.table.level, torch.full((len(small.train_x),), 0.3))


def test_aqpl_sigma_can_take_a_quantile(small, settings):
    trainer = Trainer(settings(method="aqpl-sigma", sigma_statistic="q1.0"), small)
    for example, level in ((1, 0.2), (2, 0.3), (3, 0.6)):
        answer(trainer, example, level)
    assert torch.allclose(trainer.table.level, torch.full((len(small.train_x),), 0.6))


# -- AQPL-soft -------------------------------------------------------------------------------
def test_soft_targets_turn_uniform_above_the_conform_level(settings):
    policy = make_policy(settings(method="aqpl-soft", gnt_sigma=0.8, soft_ramp=0.3))
    logits = torch.randn(3, 10)
    y = torch.tensor([1, 2, 3])
    levels = torch.tensor([0.8, 0.8, 0.0])  # trained at σ, σ and clean
    conform = torch.tensor([0.2, 0.7, 0.2])  # far above: uniform; a third of the ramp above; clean: the label
    weight = torch.tensor([1.0, 1 / 3, 0.0]).unsqueeze(1)
    target = (1 - weight) * F.one_hot(y, 10).float() + weight / 10
    expected = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    assert torch.allclose(policy.loss(logits, y, levels, conform), expected)


def test_soft_training_uses_sigma_and_the_table_holds_the_conform_levels(small, settings):
    trainer = Trainer(settings(method="aqpl-soft", gnt_sigma=0.9), small)
    answer(trainer, 3, 0.2)
    answer(trainer, 4, 0.6)
    assert trainer.table.level[3].item() == pytest.approx(0.2) and trainer.table.level[4].item() == pytest.approx(0.6)
    rest = trainer.table.source == Source.INITIAL
    assert torch.allclose(trainer.table.level[rest], torch.tensor(0.4))  # the answers' mean for the unanswered
    x = torch.zeros(100, 1, 28, 28)
    levels = trainer.policy.batch_levels(trainer.model, x, None, torch.arange(100), None, trainer.table,
                                         torch.Generator().manual_seed(0))
    assert sorted(round(v, 4) for v in levels.unique().tolist()) == [0.0, 0.9]  # clean or σ, never the table's level


# -- a random share of the picks -------------------------------------------------------------
def test_a_random_share_replaces_part_of_the_strategys_picks():
    torch.manual_seed(0)
    probs = torch.softmax(torch.randn(2, 400, 10) * 3, dim=-1)
    plain, utilities = select("conformity", probs, 40, torch.Generator().manual_seed(1))
    mixed, _ = select("conformity", probs, 40, torch.Generator().manual_seed(1), random_share=0.5)
    assert len(mixed) == 40 and len(set(mixed.tolist())) == 40
    by_strategy, _ = select("conformity", probs, 20, torch.Generator().manual_seed(1))
    assert mixed[:20].tolist() == by_strategy.tolist()  # half by conformity's two ends
    assert not set(mixed[20:].tolist()) & set(by_strategy.tolist())
    # the other half is spread over the pool, not taken from conformity's ends
    ranks = torch.argsort(torch.argsort(utilities, descending=True))[mixed[20:]].float()
    assert 100 < float(ranks.mean()) < 300
    again, _ = select("conformity", probs, 40, torch.Generator().manual_seed(1), random_share=0.5)
    assert torch.equal(mixed, again)
    assert set(plain.tolist()) != set(mixed.tolist())


# -- CAT's ceiling from the answers ---------------------------------------------------------
def test_unanswered_examples_stop_at_what_the_answers_recognise(small, settings):
    trainer = Trainer(settings(method="aqpl-cat", unanswered_ceiling="answers"), small)
    trainer.table.level[:] = 0.9  # CAT has raised everything high
    trainer.table.source[:] = Source.ADAPTED
    for example, level in enumerate((0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6)):
        trainer.requeue(example)
        trainer.submit_answer(example, level)
    trainer.drain_inbox()  # ten answers applied before the next batch
    ceiling = float(torch.quantile(torch.tensor([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6]), 0.9))
    rest = torch.arange(10, len(small.train_x))
    assert torch.allclose(trainer.table.cap[rest], torch.tensor(ceiling))
    assert torch.allclose(trainer.table.level[rest], torch.tensor(ceiling))
    assert trainer.table.level[0].item() == pytest.approx(0.1)  # the expert's own answers stay


def test_the_papers_ceiling_stays_eps_max(small, settings):
    trainer = Trainer(settings(method="aqpl-cat"), small)
    answer(trainer, 0, 0.2)
    assert torch.all(trainer.table.cap[1:] == trainer.settings.cat_eps_max)


# -- calibration ------------------------------------------------------------------------------
def test_calibration_of_sure_and_of_hesitant_models():
    labels = torch.tensor([0, 1, 2, 3])
    sure = F.one_hot(labels, 4).float() * 0.999 + 0.001 / 4
    right = calibration(sure, labels)
    assert right["nll"] < 0.01 and right["ece"] < 0.2 and right["acc90"] == 100.0
    uniform = calibration(torch.full((4, 4), 0.25), labels)
    assert uniform["nll"] == pytest.approx(math.log(4))
    # confident and wrong on half: ECE = |0.5 − 0.9| = 40 %
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    result = calibration(probs, torch.tensor([0, 1, 1, 0]))
    assert result["ece"] == pytest.approx(40.0, abs=1e-4)


def test_accuracy_at_90_percent_coverage_drops_the_least_confident():
    labels = torch.zeros(10, dtype=torch.long)
    probs = torch.tensor([[0.9, 0.1]] * 9 + [[0.45, 0.55]])  # the one wrong answer is the least sure
    assert calibration(probs, labels)["acc90"] == 100.0
    probs = torch.tensor([[0.9, 0.1]] * 8 + [[0.2, 0.8]] + [[0.6, 0.4]])  # a sure mistake stays in
    assert calibration(probs, labels)["acc90"] == pytest.approx(800 / 9)


def test_every_result_carries_calibration_and_the_mean_level(small, settings, tmp_path):
    levels = torch.tensor([0.3] * len(small.train_x))
    torch.save({"levels": levels}, tmp_path / "levels.pt")
    trainer = Trainer(settings(method="aqpl-gnt"), small, oracle=ReplayOracle(tmp_path / "levels.pt"))
    result = trainer.run()
    assert set(result.calibration) == {"clean"}  # no suite here: no Gaussian row, no conform levels
    assert set(result.calibration["clean"]) == {"nll", "ece", "acc90"}
    assert 0.3 < result.mean_level < trainer.settings.gnt_sigma  # answered examples pulled the mean down


# -- augmentation -----------------------------------------------------------------------------
def test_an_augmented_batch_differs_and_is_reproducible_per_seed(small):
    images = small.train_x[:32]
    first = Augmenter("augmix", seed=0)(images, epoch=0, batch=0)
    assert first.dtype == torch.uint8 and first.shape == images.shape
    assert (first != images).any(dim=(1, 2, 3)).float().mean() > 0.5  # most images changed
    assert torch.equal(first, Augmenter("augmix", seed=0)(images, epoch=0, batch=0))
    assert not torch.equal(first, Augmenter("augmix", seed=1)(images, epoch=0, batch=0))
    assert not torch.equal(first, Augmenter("augmix", seed=0)(images, epoch=1, batch=0))
    assert torch.equal(Augmenter("none", seed=0)(images, 0, 0), images)
    state = torch.get_rng_state()
    Augmenter("trivialaugment", seed=0)(images, 0, 0)
    assert torch.equal(state, torch.get_rng_state())  # nobody else's random numbers move


def test_an_augmented_run_trains_on_augmented_images(small, settings, monkeypatch):
    seen = []
    trainer = Trainer(settings(method="gnt", augment="trivialaugment", epochs=1), small)
    forward = trainer.train_forward
    trainer.train_forward = lambda x: (seen.append(x.detach().clone()), forward(x))[1]
    monkeypatch.setattr(trainer.policy, "batch_levels", lambda *a, **k: torch.zeros(len(a[3])))
    generator = torch.Generator().manual_seed(0)
    trainer.train_batch(torch.arange(100), 0, generator, 0)
    clean = small.train_x[:100].float() / 255
    assert not torch.allclose(seen[0].contiguous(), clean)
    assert trainer.run().augment == "trivialaugment"


def test_the_imitated_corruptions_are_named_in_the_suite_results():
    assert {"rotate", "shear", "translate", "brightness", "contrast"} == set(IMITATED)
