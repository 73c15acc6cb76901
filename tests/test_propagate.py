"""Level propagation: answers move the levels of the examples that look like the answered ones."""

import copy

import pytest
import torch

from app.engine.events import RunStore
from app.engine.levels import Source
from app.engine.oracle import ReplayOracle
from app.engine.propagate import by_class, by_neighbours
from app.engine.settings import Settings
from app.engine.trainer import Trainer
from tests.helpers import GRID, slice_dataset


def test_class_median_and_a_fallback_for_classes_nobody_answered():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    answered = torch.tensor([0, 1, 3])
    answers = torch.tensor([0.2, 0.4, 0.6])
    predicted = by_class(labels, answered, answers, num_classes=3)
    assert torch.allclose(predicted, torch.tensor([0.2, 0.2, 0.2, 0.6, 0.6, 0.4, 0.4]))  # class 2: median of all


def test_neighbours_follow_the_answers_of_similar_examples():
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    cluster = torch.arange(300) % 3
    features = centres[cluster] + 0.5 * torch.randn(300, 3, generator=generator)
    answered = torch.arange(0, 60)  # 20 answers per cluster
    level_of_cluster = torch.tensor([0.1, 0.4, 0.6])
    predicted = by_neighbours(features, answered, level_of_cluster[cluster[answered]], GRID)
    assert float((predicted - level_of_cluster[cluster]).abs().max()) < 1e-6


def class_levels(dataset):
    """A recorded answer per training example: one level per class, as a levels file."""
    per_class = torch.tensor([0.6, 0.2, 0.5, 0.3, 0.4, 0.3, 0.1, 0.3, 0.4, 0.5])
    return per_class[dataset.train_y]


@pytest.fixture(scope="module")
def few(small):
    return slice_dataset(small, 300, 50)


def run(small, tmp_path, **kw):
    torch.save({"levels": class_levels(small)}, tmp_path / "levels.pt")
    base = dict(epochs=3, warmup_epochs=1, budget="40", batch_size=100, eval_every=0, seed=0, grid=GRID)
    base.update(kw)
    trainer = Trainer(Settings(**base), small, oracle=ReplayOracle(tmp_path / "levels.pt"))
    trainer.run()
    return trainer


def test_aqpl_gnt_trains_unanswered_examples_at_their_classs_answers(few, tmp_path):
    small = few
    trainer = run(small, tmp_path, method="aqpl-gnt", propagate="class")
    table, truth = trainer.table, class_levels(small)
    expert = table.source == Source.EXPERT
    assert int(expert.sum()) == 40 and bool((table.source[~expert] == Source.PROPAGATED).all())
    answered_classes = set(small.train_y[expert].tolist())
    in_answered_class = torch.tensor([int(y) in answered_classes for y in small.train_y])
    assert len(answered_classes) >= 5
    # in every class somebody answered, the median answer is that class's level; the others get the median of all
    assert torch.allclose(table.level[in_answered_class], truth[in_answered_class])
    assert torch.allclose(table.level[~in_answered_class], truth[expert].median())
    assert trainer.result.history[-1]["level_counts"]["propagated"] == len(small.train_x) - 40


def test_aqpl_cat_uses_the_prediction_as_ceiling_and_keeps_adapting_below_it(few, tmp_path):
    small = few
    trainer = run(small, tmp_path, method="aqpl-cat", propagate="neighbours", cat_eta=0.2)
    table = trainer.table
    unanswered = table.source != Source.EXPERT
    assert bool((table.source[unanswered] == Source.PROPAGATED).all())
    assert bool((table.level <= table.cap + 1e-6).all())
    assert float(table.cap[unanswered].max()) < 1.0  # ε_max replaced by predictions (all ≤ 0.6 here)
    assert {round(v, 6) for v in table.cap[unanswered].unique().tolist()} <= set(GRID)
    assert float(table.level[unanswered].max()) > 0  # CAT still raises levels below the ceiling


def test_aqpl_cat_can_take_the_prediction_as_the_level_like_an_answer(few, tmp_path):
    small = few
    as_ceiling = run(small, tmp_path, method="aqpl-cat", propagate="class").table
    as_level = run(small, tmp_path, method="aqpl-cat", propagate="class", propagate_as="level").table
    truth = class_levels(small)
    expert = as_level.source == Source.EXPERT
    answered_classes = set(small.train_y[expert].tolist())
    in_answered_class = torch.tensor([int(y) in answered_classes for y in small.train_y]) & ~expert
    # every unanswered example of an answered class sits exactly at its class's answer, ceiling included
    assert torch.allclose(as_level.level[in_answered_class], truth[in_answered_class])
    assert torch.allclose(as_level.cap[~expert], as_level.level[~expert])
    # as a ceiling, CAT climbs 0.1 per visit from 0: three epochs leave most examples below it
    assert int((as_ceiling.level[in_answered_class] < truth[in_answered_class] - 1e-6).sum()) > 0.5 * int(in_answered_class.sum())


def test_off_by_default_reproduces_the_paper(few, tmp_path):
    small = few
    trainer = run(small, tmp_path, method="aqpl-gnt", gnt_sigma=0.7)
    assert int((trainer.table.source == Source.PROPAGATED).sum()) == 0
    assert torch.allclose(trainer.table.level[trainer.table.source != Source.EXPERT], torch.tensor(0.7))  # σ


def test_propagated_levels_survive_a_resume_exactly(few, tmp_path):
    small = few
    whole = run(small, tmp_path, method="aqpl-cat", propagate="neighbours")
    torch.save({"levels": class_levels(small)}, tmp_path / "levels.pt")
    settings = Settings(method="aqpl-cat", propagate="neighbours", epochs=3, warmup_epochs=1, budget="40",
                        batch_size=100, eval_every=0, seed=0, grid=GRID)
    checkpoints = []

    class Keep(RunStore):
        def save_checkpoint(self, state):
            checkpoints.append(copy.deepcopy(state))

    Trainer(settings, small, oracle=ReplayOracle(tmp_path / "levels.pt"), store=Keep()).run()
    state = checkpoints[1]  # after epoch 2: one round answered and propagated
    assert state["epoch"] == 2
    assert int((state["table"]["source"] == Source.PROPAGATED).sum()) > 0
    resumed = Trainer(settings, small, oracle=ReplayOracle(tmp_path / "levels.pt"))
    resumed.load_state_dict(state)
    resumed.run()
    assert torch.equal(resumed.table.source, whole.table.source)
    assert torch.allclose(resumed.table.cap, whole.table.cap) and torch.allclose(resumed.table.level, whole.table.level)


def test_a_partial_recording_is_asked_only_about_what_it_holds(few, tmp_path):
    """The 100 hand-given answers cover 100 of 6,000 examples: a replay must spend its budget on them."""
    held = {i: 0.3 for i in range(0, 300, 7)}  # 43 recorded answers
    path = tmp_path / "answers.csv"
    path.write_text("example_id,level\n" + "".join(f"{i},{v}\n" for i, v in held.items()))
    settings = Settings(method="aqpl-gnt", epochs=2, warmup_epochs=1, budget="100%", queries_per_round=300,
                        batch_size=100, eval_every=0, grid=GRID)
    trainer = Trainer(settings, few, oracle=ReplayOracle(path))
    trainer.run()
    assert sorted(trainer.book.answered) == sorted(held) and not trainer.book.skipped


def test_conform_accuracy_perturbs_each_test_image_at_its_own_level(few):
    from app.engine.evaluate import accuracy, predict, robustness_curve

    trainer = Trainer(Settings(method="standard", epochs=1, batch_size=100, eval_every=0, grid=GRID), few)
    trainer.run()
    x, y = few.test_x, few.test_y
    curve = robustness_curve(trainer.model, x, y, trainer.device, [0.0, 0.6])
    assert accuracy(trainer.model, x, y, trainer.device, level=torch.zeros(len(y))) == curve[0]
    assert accuracy(trainer.model, x, y, trainer.device, level=torch.full((len(y),), 0.6)) == curve[1]
    even = torch.arange(len(y)) % 2 == 0
    right_clean = predict(trainer.model, x, trainer.device, 0.0) == y
    right_noisy = predict(trainer.model, x, trainer.device, 0.6) == y
    expected = 100.0 * float(torch.where(even, right_clean, right_noisy).float().mean())
    assert accuracy(trainer.model, x, y, trainer.device, level=torch.where(even, 0.0, 0.6)) == pytest.approx(expected)
    assert (right_clean != right_noisy).any()  # the levels matter for this model
