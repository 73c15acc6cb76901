"""Query rounds and the training loop on a 600-image slice of the embedded dataset."""

import threading

import pytest
import torch

from app.engine.evaluate import accuracy
from app.engine.events import Callbacks
from app.engine.levels import Source
from app.engine.oracle import ReplayOracle
from app.engine.trainer import Trainer
from tests import helpers


# This file's runs: four epochs on `small` (conftest), the one source's other defaults.
RUNS = dict(method="aqpl-cat", epochs=4, warmup_epochs=1, round_every=1, budget="60",
            queries_per_round=25, batch_size=100, eval_every=0, seed=0)


def settings(**kw):
    return helpers.settings(RUNS, **kw)


@pytest.fixture
def levels_file(tmp_path, small):
    """A recorded answer for every training example (as a levels file) for the replay oracle."""
    levels = torch.tensor([round(0.1 * (i % 11), 1) for i in range(len(small.train_x))])
    path = tmp_path / "levels.pt"
    torch.save({"levels": levels}, path)
    return path, levels


def test_budget_is_never_exceeded_and_no_example_is_asked_twice(small, levels_file):
    asked = []
    oracle = ReplayOracle(levels_file[0])
    original = oracle.answer
    oracle.answer = lambda queries: (asked.extend(q.example_id for q in queries), original(queries))[1]
    trainer = Trainer(settings(), small, oracle=oracle)
    result = trainer.run()
    assert len(asked) == 60 == result.queries_used  # 25 + 25 + 10: the last round is cut to the budget
    assert len(set(asked)) == len(asked)
    expert = torch.nonzero(trainer.table.source == Source.EXPERT).flatten()
    assert sorted(expert.tolist()) == sorted(asked)
    # AQPL-CAT: the answered examples sit at the expert's level (CAT cannot raise them past it)
    assert torch.allclose(trainer.table.level[expert], levels_file[1][expert])
    assert bool((trainer.table.level[expert] <= trainer.table.cap[expert]).all())


def test_same_seed_same_result(small, levels_file):
    runs = [Trainer(settings(), small, oracle=ReplayOracle(levels_file[0])) for _ in range(2)]
    results = [t.run() for t in runs]
    assert results[0].curve_accuracy == results[1].curve_accuracy
    assert torch.equal(runs[0].table.level, runs[1].table.level)
    other = Trainer(settings(seed=1), small, oracle=ReplayOracle(levels_file[0]))
    other.run()
    assert not torch.equal(runs[0].table.level, other.table.level)


def test_synchronous_mode_waits_for_the_experts_answers(small):
    """With no oracle the trainer asks through on_queries and does not train on until the round is answered."""
    answered_before_training_went_on = []

    class Expert(Callbacks):
        def __init__(self):
            self.trainer = None
            self.steps_at_question = None

        def on_queries(self, queries):
            self.steps_at_question = self.trainer.step

            def answer_later():
                for q in queries:
                    self.trainer.submit_answer(q.example_id, 0.4, time_taken_s=0.01)
                answered_before_training_went_on.append(self.trainer.step == self.steps_at_question)

            threading.Timer(0.3, answer_later).start()

    expert = Expert()
    trainer = Trainer(settings(epochs=2, budget="10", queries_per_round=10), small, callbacks=expert)
    expert.trainer = trainer
    result = trainer.run()
    assert answered_before_training_went_on == [True]
    assert result.queries_used == 10
    assert int((trainer.table.source == Source.EXPERT).sum()) == 10


def test_undo_restores_the_previous_level_and_requeues(small):
    trainer = Trainer(settings(epochs=2, mode="continuous"), small)
    queries = trainer.select_queries(3)
    trainer.book.issue(queries)
    first = queries[0].example_id
    before = float(trainer.table.level[first])
    trainer.submit_answer(first, 0.7)
    trainer.drain_inbox()
    assert float(trainer.table.level[first]) == pytest.approx(0.7)
    assert first in trainer.book.answered and first not in trainer.book.pending
    trainer.submit_undo(first)
    trainer.drain_inbox()
    assert float(trainer.table.level[first]) == pytest.approx(before)
    assert trainer.table.source[first] != Source.EXPERT
    assert first in trainer.book.pending and first not in trainer.book.answered
    trainer.submit_skip(queries[1].example_id)
    trainer.drain_inbox()
    assert queries[1].example_id in trainer.book.skipped
    assert queries[1].example_id not in trainer.book.eligible(len(small.train_x)).tolist()


def test_continuous_mode_refills_the_queue_without_waiting(small):
    seen = []

    class Expert(Callbacks):
        def on_queries(self, queries):
            seen.append(len(queries))

    trainer = Trainer(settings(epochs=6, mode="continuous", budget="200", queries_per_round=8), small, callbacks=Expert())
    for event in trainer.steps():
        assert event != "waiting"  # continuous mode never stops to wait for the expert
        if trainer.book.pending and event == "batch":
            trainer.submit_answer(next(iter(trainer.book.pending)), 0.2)
        if trainer.epoch >= 6:
            trainer.finish()  # the expert is done (else training waits for the whole budget: test_pacing.py)
    assert len(seen) >= 2 and trainer.result.queries_used > 8


def test_stop_early_keeps_and_evaluates_the_model(small):
    trainer = Trainer(settings(method="standard", epochs=5), small)
    for event in trainer.steps():
        if trainer.step == 7:
            trainer.stop_early()
    assert trainer.result.stopped_early and trainer.result.epochs_done == 1
    # the reported number is the kept model's accuracy on the whole test set, in eval mode …
    kept = accuracy(trainer.model, small.test_x, small.test_y, trainer.device)
    assert trainer.result.clean == pytest.approx(kept)
    # … of a model that learnt something in its 7 batches (chance is 10%)
    assert trainer.result.clean > 20
