"""The answer path (app/engine/answers.py): validate, then persist, then apply."""

import pytest

from app.engine.answers import Answer, AnswerRejected, AnswerSink, Skip, Undo
from app.errors import AQPLError
from app.engine.levels import Source
from app.engine.project import Project
from app.engine.trainer import Trainer


@pytest.fixture
def project_trainer(tmp_path, tiny, make_settings):
    """A continuous-mode project trainer with three issued queries, in round 1 (a round later
    than the trainer's own round counter)."""
    project = Project.create(tmp_path / "p", make_settings(mode="continuous", epochs=2))
    trainer = project.make_trainer(tiny)
    queries = trainer.select_queries(3)
    for q in queries:
        q.round = 1
    trainer.book.issue(queries)
    trainer.round = 5  # a later round has started meanwhile
    yield project, trainer, [q.example_id for q in queries]
    project.close()


def test_the_trainer_is_an_answer_sink(project_trainer):
    assert isinstance(project_trainer[1], AnswerSink)
    assert issubclass(AnswerRejected, AQPLError)  # one line for the user, never a traceback


def test_a_rejected_answer_is_never_written_nor_applied_on_reopen(project_trainer, tmp_path, tiny):
    project, trainer, (a, b, _) = project_trainer
    never_asked = next(i for i in range(len(tiny.train_x)) if i not in (a, b, _))
    trainer.submit(Answer(a, 0.3))
    with pytest.raises(AnswerRejected, match=f"example {a} refused"):
        trainer.submit(Answer(a, 0.6))  # answered already (still in flight: not applied yet)
    with pytest.raises(AnswerRejected, match="not waiting"):
        trainer.submit(Answer(never_asked, 0.4))
    with pytest.raises(AnswerRejected, match="candidate levels"):
        trainer.submit(Answer(b, 0.35))
    with pytest.raises(AnswerRejected, match="no answer to take back"):
        trainer.submit(Undo(b))
    trainer.drain_inbox()
    assert trainer.book.answered == {a: 0.3}
    rows = project.answers(include_undone=True)
    assert [(r["example_id"], r["level"]) for r in rows] == [(a, 0.3)]

    project.close()  # reopen: reconcile applies what the database holds, and only that
    with Project.open(tmp_path / "p") as again:
        resumed = again.make_trainer(tiny)
        assert resumed.book.answered == {a: 0.3}
        assert never_asked not in resumed.book.answered and int(resumed.table.source[never_asked]) != Source.EXPERT
        assert float(resumed.table.level[b]) != pytest.approx(0.35)


def test_undo_and_answer_again_before_the_training_thread_applies_them(project_trainer):
    _, trainer, (a, _, _) = project_trainer
    before = float(trainer.table.level[a])
    trainer.submit(Answer(a, 0.3))
    trainer.submit(Undo(a))  # checked against the state after the answer in flight
    trainer.submit(Answer(a, 0.7))
    trainer.drain_inbox()
    assert trainer.book.answered == {a: 0.7} and float(trainer.table.level[a]) == pytest.approx(0.7)
    trainer.submit(Undo(a))
    trainer.drain_inbox()
    assert float(trainer.table.level[a]) == pytest.approx(before) and a in trainer.book.pending


def test_answers_and_skips_record_the_round_that_asked(project_trainer):
    project, trainer, (a, b, _) = project_trainer
    trainer.submit(Answer(a, 0.3, time_taken_s=1.5))
    trainer.submit(Skip(b))
    rows = {r["example_id"]: r for r in project.answers()}
    assert rows[a]["round"] == 1 and rows[b]["round"] == 1  # the query's round, not the trainer's (5)
    assert rows[a]["time_taken_s"] == 1.5 and rows[b]["level"] is None


def test_a_failed_write_changes_nothing(tiny, make_settings):
    """Persist before apply: when the store refuses (disk full), the book and table stay as they were."""
    from app.engine.events import RunStore

    class FullDisk(RunStore):
        def record_answer(self, record):
            raise AQPLError("the disk is full: free some space")

    trainer = Trainer(make_settings(mode="continuous"), tiny, store=FullDisk())
    query = trainer.select_queries(1)[0]
    trainer.book.issue([query])
    with pytest.raises(AQPLError, match="disk is full"):
        trainer.submit(Answer(query.example_id, 0.3))
    trainer.drain_inbox()
    assert query.example_id in trainer.book.pending and trainer.inbox.empty()
    trainer.store = RunStore()  # space freed: the same answer is taken now
    trainer.submit(Answer(query.example_id, 0.3))
    trainer.drain_inbox()
    assert trainer.book.answered == {query.example_id: 0.3}
