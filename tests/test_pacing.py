"""Expert-paced sessions (continuous mode with a person): the epochs in the settings are the
minimum, training goes on while the expert answers, and ends on idle, Finish or a spent budget.
A scripted expert answers from its own thread, at a person's pace, on a 600-image slice."""

import queue
import threading
import time

import pytest
import torch

from app.engine.events import Callbacks, RunStore
from app.engine.levels import Source
from app.engine.oracle import ReplayOracle
from app.engine.pacing import ExpertPace, hold_epoch
from app.engine.trainer import Trainer
from tests.helpers import settings

pytestmark = pytest.mark.usefixtures("one_thread")
# settings(PACED, ...): the gray defaults (budget 5 %: 30 of 600 images) in continuous mode, two minimum epochs.
PACED = dict(mode="continuous", epochs=2, batch_size=100, eval_every=1, eval_subset=200)


class ScriptedExpert(Callbacks):
    """Answers the queries it is shown, one every `every_s` seconds, up to `limit` answers."""

    def __init__(self, every_s: float, limit: int, level: float = 0.3):
        self.every_s, self.limit, self.level = every_s, limit, level
        self.shown: queue.Queue = queue.Queue()
        self.given: list[int] = []
        self.trainer: Trainer | None = None
        self.final_seen_at_answers = None

    def on_queries(self, queries):
        for query in queries:
            self.shown.put(query.example_id)

    def on_progress(self, progress):
        if progress.final and self.final_seen_at_answers is None:
            self.final_seen_at_answers = len(self.given)

    def start(self, trainer: Trainer) -> threading.Thread:
        self.trainer = trainer

        def work():
            while len(self.given) < self.limit and trainer.result is None:
                try:
                    example = self.shown.get(timeout=0.1)
                except queue.Empty:
                    continue
                time.sleep(self.every_s)  # looking at the image
                trainer.submit_answer(example, self.level, time_taken_s=self.every_s)
                self.given.append(example)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        return thread


class Recorder(RunStore):
    def __init__(self):
        self.records = []

    def record_answer(self, record):
        self.records.append(record)


def test_a_slow_expert_spends_the_default_budget_and_every_answer_is_applied(small):
    """One answer a second for 30 answers: training outlasts the expert instead of racing them."""
    expert, store = ScriptedExpert(every_s=1.0, limit=1000), Recorder()
    trainer = Trainer(settings(PACED), small, callbacks=expert, store=store)
    assert trainer.book.budget == 30  # the default budget: 5 % of the training set
    thread = expert.start(trainer)
    result = trainer.run()
    thread.join(timeout=5)

    assert trainer.finishing == "budget"
    assert len(expert.given) == 30 == result.queries_used == result.budget
    assert expert.final_seen_at_answers == 30  # nothing was still on its way at the final evaluation
    assert trainer.history[-1].final and trainer.history[-1].answers == 30
    expert_rows = (trainer.table.source == Source.EXPERT).nonzero().flatten().tolist()
    assert sorted(expert_rows) == sorted(expert.given)
    # the last answer was trained on: the whole final phase ran after it
    assert trainer.history[-1].step - max(r.step for r in store.records) >= trainer.batches
    assert result.epochs_done > trainer.settings.epochs  # the settings' epochs were only the minimum


def test_an_idle_expert_ends_the_extension_and_the_schedule_anneals_after_it(small):
    expert = ScriptedExpert(every_s=0.0, limit=3)
    trainer = Trainer(settings(PACED, epochs=5, eval_every=0), small, callbacks=expert)
    now = [0.0]
    trainer.pace = ExpertPace(trainer.settings.idle_finish_s, clock=lambda: now[0])  # time as the test says
    expert.start(trainer)
    rates = []  # (extending, lr) per batch
    for event in trainer.steps():
        if event == "batch":
            rates.append((trainer.pacing.holding, trainer.optimizer.param_groups[0]["lr"]))
        if trainer.extra_epochs == 3 and len(expert.given) == 3:
            now[0] += trainer.settings.idle_finish_s  # the expert walked away
    assert trainer.finishing == "idle" and trainer.extra_epochs == 3
    assert trainer.result.queries_used == 3 and trainer.result.epochs_done == 5 + trainer.extra_epochs
    held = {lr for extending, lr in rates if extending}
    assert len(held) == 1  # constant while extended ...
    hold_lr = held.pop()
    before = [lr for extending, lr in rates[: hold_epoch(5, 1) * trainer.batches]]
    after = [lr for extending, lr in rates if not extending][len(before):]
    assert min(before) > hold_lr * 0.99  # ... at the planned cosine's value at the hold point
    assert after == sorted(after, reverse=True) and after[-1] < hold_lr / 10  # then the tail anneals
    assert trainer.scheduler.last_epoch == 5 * trainer.batches  # extension steps are outside the schedule


def test_finish_ends_the_extension_at_the_next_batch(small):
    expert = ScriptedExpert(every_s=0.0, limit=2)
    trainer = Trainer(settings(PACED, epochs=3, eval_every=0), small, callbacks=expert)
    expert.start(trainer)
    for event in trainer.steps():
        if trainer.extra_epochs >= 2 and not trainer.pace.finish_requested:
            threading.Thread(target=trainer.finish).start()  # the Finish key, from the GUI thread
    assert trainer.finishing == "finish"
    assert trainer.result.epochs_done == 3 + trainer.extra_epochs and trainer.result.queries_used == 2


def test_oracles_and_synchronous_runs_keep_their_planned_epochs(small, tmp_path):
    import torch

    path = tmp_path / "levels.pt"
    torch.save({"levels": torch.full((len(small.train_x),), 0.3)}, path)
    for mode in ("continuous", "synchronous"):
        trainer = Trainer(settings(PACED, mode=mode, epochs=3, eval_every=0), small, oracle=ReplayOracle(path))
        result = trainer.run()
        assert not trainer.paced and result.epochs_done == 3 and trainer.extra_epochs == 0
    assert not Trainer(settings(PACED, mode="synchronous"), small).paced


def test_the_pace_counts_answers_per_minute_and_idle_time():
    now = [100.0]
    pace = ExpertPace(idle_s=30, clock=lambda: now[0])
    pace.observe(0, 0, 0)
    now[0] += 50
    pace.observe(0, 0, 0)
    assert pace.reason_to_finish(False) is None  # nothing was shown yet: not idle
    pace.observe(0, 0, 10)  # queries shown: the idle clock starts
    for answered in range(1, 13):
        now[0] += 10
        pace.observe(answered, 0, 10)
    assert pace.answers_per_minute() == pytest.approx(60 * 12 / 110, rel=0.01)
    now[0] += 29
    assert pace.reason_to_finish(False) is None
    now[0] += 2
    assert pace.reason_to_finish(False) == "idle"
    pace.touch()  # e.g. resumed after a pause
    assert pace.reason_to_finish(False) is None and pace.reason_to_finish(True) == "budget"
    pace.finish()
    assert pace.reason_to_finish(True) == "finish"
    assert [hold_epoch(e, 1) for e in (1, 2, 5, 10, 30)] == [1, 1, 4, 8, 24]


def test_answers_reach_the_unanswered_examples_at_the_next_epoch_not_the_next_refill(small):
    """Propagation in an expert-paced session: 3 answers, the queue still full (no refill due),
    yet by the next epoch every other example trains at a level predicted from those answers."""
    expert = ScriptedExpert(every_s=0.0, limit=3, level=0.3)
    trainer = Trainer(settings(PACED, epochs=3, eval_every=0, method="aqpl-gnt", propagate="neighbours"), small,
                      callbacks=expert)
    expert.start(trainer)
    seen = None
    for event in trainer.steps():
        if seen is None and len(expert.given) == 3 and int((trainer.table.source == Source.PROPAGATED).sum()):
            seen = (trainer.epoch, len(trainer.book.pending), trainer.round)
            trainer.finish()
    assert seen is not None, "the answers never reached the unanswered examples"
    epoch, pending, rounds = seen
    assert rounds == 1 and pending >= trainer.query_rounds.low_water()  # no refill was due: the first round's queue
    propagated = trainer.table.source == Source.PROPAGATED
    assert int(propagated.sum()) == len(small.train_x) - 3
    assert torch.allclose(trainer.table.level[propagated], torch.tensor(0.3))  # all three answers were 0.3
