"""The desktop app end to end, offscreen: a whole round answered with keys, pause / resume /
cancel / stop early, errors in the worker, closing while training, watch mode, resuming a
project. Tiny settings on a 600-image slice of the embedded dataset."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt  # noqa: E402

from app.engine.levels import Source  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.prepare import SessionRequest  # noqa: E402
from app.gui.settings_store import SettingsStore  # noqa: E402
from tests.helpers import WAIT_MS, start_session  # noqa: E402


def short_session(**overrides) -> dict:
    """Three epochs of six batches; a round of 4 queries after epochs 1 and 2."""
    values = dict(epochs=3, warmup_epochs=1, round_every=1, batch_size=100, budget="8", queries_per_round=4,
                  eval_every=1, eval_subset=200, mode="synchronous")
    values.update(overrides)
    return values


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AQPL_LOG_DIR", str(tmp_path / "logs"))
    w = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    w.confirm = lambda question: True  # the "stop training and quit?" question
    qtbot.addWidget(w)
    w.resize(1400, 850)
    w.show()
    yield w
    if w.session is not None and w.session.active:
        w.session.cancel()
        qtbot.waitUntil(lambda: not w.session.active, timeout=WAIT_MS)
    for box in list(w.error_boxes):
        box.close()


def level_of(trainer, example):
    return round(float(trainer.table.level[example]), 6), int(trainer.table.source[example])


def test_a_whole_round_answered_with_keys(window, qtbot, small, tmp_path):
    project_dir = tmp_path / "project"
    session = start_session(window, qtbot, small, overrides=short_session(), project=str(project_dir))
    trainer, panel = session.trainer, window.panel
    qtbot.waitUntil(lambda: panel.queue.current is not None, timeout=WAIT_MS)
    assert len(panel.queue) == 4 and len(panel.tiles) == len(trainer.settings.grid)

    # the model's predictions, on a CPU copy sent by the worker (training waits for the round)
    panel.predictions_box.setChecked(True)
    qtbot.waitUntil(lambda: all(tile.prediction is not None for tile in panel.tiles), timeout=WAIT_MS)

    first = panel.queue.current
    before = level_of(trainer, first.example_id)
    qtbot.keyClick(panel, Qt.Key.Key_3)  # candidate 3: σ 0.3
    qtbot.waitUntil(lambda: level_of(trainer, first.example_id) == (0.3, Source.EXPERT), timeout=WAIT_MS)
    assert panel.queue.current is not first
    qtbot.waitUntil(lambda: window.plots.levels.snapshot.source[first.example_id] == Source.EXPERT, timeout=WAIT_MS)

    qtbot.keyClick(panel, Qt.Key.Key_Backspace)  # undo: the previous level, back in the queue
    assert panel.queue.current is first and len(panel.queue) == 4
    qtbot.waitUntil(lambda: level_of(trainer, first.example_id) == before, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: first.example_id in trainer.book.pending, timeout=WAIT_MS)

    qtbot.keyClick(panel, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ShiftModifier)  # redo
    qtbot.waitUntil(lambda: level_of(trainer, first.example_id) == (0.3, Source.EXPERT), timeout=WAIT_MS)

    second = panel.queue.current
    cursor = panel.cursor
    qtbot.keyClick(panel, Qt.Key.Key_Right)
    qtbot.keyClick(panel, Qt.Key.Key_Return)  # arrow keys and Enter
    chosen = trainer.settings.grid[min(cursor + 1, len(trainer.settings.grid) - 1)]
    qtbot.keyClick(panel, Qt.Key.Key_S)  # skip
    qtbot.keyClick(panel, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: level_of(trainer, second.example_id) == (chosen, Source.EXPERT), timeout=WAIT_MS)

    # round two arrives after the next epoch; answer it with number keys
    qtbot.waitUntil(lambda: panel.queue.current is not None, timeout=WAIT_MS)
    while panel.queue.current is not None:
        qtbot.keyClick(panel, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)

    assert session.outcome.status == "done"
    result = session.outcome.result
    assert result.queries_used == 7  # 3 + 4 answers; the skip uses no budget
    assert result.epochs_done == 3
    window.plots.redraw_dirty()
    assert len(window.plots.robustness.curves) == 3  # after epochs 1 and 2, and the final one
    assert window.plots.robustness.items and window.plots.loss.steps
    assert [x for x, _ in window.plots.accuracy.points["clean"]] == [0, 3, 7]
    assert "done" in window.status.bar.format()
    assert window.new_action.isEnabled() and not window.pause_action.isEnabled()

    from app.engine.project import Project

    with Project.open(project_dir) as project:  # every answer is in the project
        rows = project.answers(include_undone=True)
        assert project.is_finished()
    assert len(rows) == 9  # 8 given (one skip) plus the undone one
    assert sum(r["undone"] for r in rows) == 1
    kept = [r for r in rows if not r["undone"]]
    assert {r["example_id"]: r["level"] for r in kept}[first.example_id] == 0.3
    assert all(r["time_taken_s"] > 0 and r["source"] == "expert" for r in kept)

    job = window.run_export(str(project_dir), str(tmp_path / "export"))  # File → Export, off the GUI thread
    with qtbot.waitSignal(job.done, timeout=WAIT_MS):
        pass
    assert (tmp_path / "export" / "levels.csv").is_file() and (tmp_path / "export" / "answers.csv").is_file()


def test_pause_resume_and_cancel(window, qtbot, small):
    session = start_session(window, qtbot, small, overrides=short_session(mode="continuous", epochs=200))
    trainer = session.trainer
    qtbot.waitUntil(lambda: trainer.step > 2, timeout=WAIT_MS)
    window.pause_action.trigger()
    assert session.state == "paused" and window.pause_action.text() == "Resume"
    qtbot.waitUntil(session.worker.parked.is_set, timeout=WAIT_MS)  # the batch in flight finished
    step = trainer.step
    qtbot.wait(800)
    assert trainer.step == step  # paused: no batch ran
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: trainer.step > step + 1, timeout=WAIT_MS)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    assert session.outcome.status == "cancelled"
    assert trainer.result is None  # cancel: no final evaluation
    assert not session.thread.isRunning()
    assert window.new_action.isEnabled() and window.start_action.isEnabled()


def test_stop_early_evaluates_and_keeps_the_model(window, qtbot, small):
    session = start_session(window, qtbot, small, overrides=short_session(mode="continuous", epochs=200, device="cuda"))
    qtbot.waitUntil(lambda: session.trainer.step > 2, timeout=WAIT_MS)
    if not torch.cuda.is_available():  # asked for a GPU, got the CPU: the device line warns
        assert window.status.device.text().startswith("device: cpu") and window.status.device_warning
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    result = session.outcome.result
    assert session.outcome.status == "stopped" and result.stopped_early and result.epochs_done < 200
    assert window.plots.robustness.curves[-1].final


def test_a_worker_that_raises_shows_an_error_and_the_window_stays_usable(window, qtbot, small, monkeypatch, tmp_path):
    from app.engine.trainer import Trainer

    def broken(self, *args):
        raise RuntimeError("boom in a batch")

    monkeypatch.setattr(Trainer, "train_batch", broken)
    session = start_session(window, qtbot, small, overrides=short_session())
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    assert session.outcome.status == "failed"
    qtbot.waitUntil(lambda: len(window.error_boxes) == 1)
    text = window.error_boxes[0].text()
    assert "RuntimeError" in text and "boom in a batch" in text and "Traceback" not in text
    assert "Traceback" in (tmp_path / "logs" / "gui.log").read_text()  # the details, for a bug report
    assert window.new_action.isEnabled()

    monkeypatch.undo()  # the window still works: the next session trains
    again = start_session(window, qtbot, small, overrides=short_session(method="standard", epochs=1))
    qtbot.waitUntil(lambda: not again.active, timeout=WAIT_MS)
    assert again.outcome.status == "done"


def test_a_bad_setting_is_one_line_not_a_traceback(window, qtbot, small):
    session = start_session(window, qtbot, small, overrides=short_session(budget="-3"))
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(window.error_boxes) == 1)
    text = window.error_boxes[0].text()
    assert "negative" in text and "\n" not in text and "Traceback" not in text


def test_closing_during_training_stops_the_thread(window, qtbot, small):
    session = start_session(window, qtbot, small, overrides=short_session(mode="continuous", epochs=200))
    qtbot.waitUntil(lambda: session.trainer.step > 1, timeout=WAIT_MS)
    assert window.close() is False  # asks, then waits for the worker to stop
    qtbot.waitUntil(lambda: not session.thread.isRunning() and not window.isVisible(), timeout=WAIT_MS)
    assert session.outcome.status == "cancelled"


def test_watch_mode_answers_through_the_query_panel(window, qtbot, small, tmp_path, monkeypatch):
    import app.gui.watch as watch

    monkeypatch.setattr(watch, "THINK_MS", 10)
    monkeypatch.setattr(watch, "CONFIRM_MS", 10)
    project_dir = tmp_path / "watched"
    session = start_session(window, qtbot, small, overrides=short_session(reference_epochs=1), project=str(project_dir), watch=True)
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    assert session.outcome.status == "done"
    assert session.outcome.result.queries_used == 8

    from app.engine.project import Project

    with Project.open(project_dir) as project:
        rows = project.answers()
    levels = session.prepared.oracle.levels()
    assert len(rows) == 8 and {r["source"] for r in rows} == {"simulated"}
    assert all(abs(r["level"] - float(levels[r["example_id"]])) < 1e-6 for r in rows)  # the oracle's answers


def test_a_cancelled_project_reopens_with_its_answers_queue_and_plots(window, qtbot, small, tmp_path):
    project_dir = tmp_path / "resumed"
    session = start_session(window, qtbot, small, overrides=short_session(mode="continuous", epochs=40, budget="20", queries_per_round=6),
                    project=str(project_dir))
    panel, trainer = window.panel, session.trainer
    qtbot.waitUntil(lambda: len(panel.queue) >= 3, timeout=WAIT_MS)
    answered = [panel.queue.current.example_id]
    qtbot.keyClick(panel, Qt.Key.Key_4)
    answered.append(panel.queue.current.example_id)
    qtbot.keyClick(panel, Qt.Key.Key_6)
    waiting = {q.example_id for q in panel.queue.waiting}
    qtbot.waitUntil(lambda: len(session.prepared.project.metrics_history()) >= 2, timeout=WAIT_MS)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)

    again = start_session(window, qtbot, small, project=str(project_dir), open_existing=True)
    resumed = again.trainer
    assert {e: resumed.book.answered[e] for e in answered} == {answered[0]: 0.4, answered[1]: 0.6}
    assert level_of(resumed, answered[1]) == (0.6, Source.EXPERT)
    # the plots' history comes back (with the ready signal, which may trail the trainer by an event)
    qtbot.waitUntil(lambda: len(window.plots.robustness.curves) >= 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: waiting <= {q.example_id for q in panel.queue.waiting}, timeout=WAIT_MS)
    assert not set(answered) & {q.example_id for q in panel.queue.waiting}
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not again.active, timeout=WAIT_MS)
    assert window.store.recent_projects()[0] == str(project_dir.resolve())


def test_a_finished_project_reopens_with_its_result_and_is_not_evaluated_again(window, qtbot, small, tmp_path):
    project_dir = tmp_path / "finished"
    first = window.start_session(SessionRequest(dataset=small, load_suite=True, project=str(project_dir),
                                                overrides=short_session(method="gnt", epochs=2)))
    qtbot.waitUntil(lambda: not first.active, timeout=WAIT_MS)
    result = first.outcome.result
    assert first.outcome.status == "done" and result.gaussian is not None and result.all is not None
    evaluations = len(first.prepared.project.metrics_history()) if first.prepared.project else None

    again = start_session(window, qtbot, small, project=str(project_dir), open_existing=True)
    qtbot.waitUntil(lambda: not again.active, timeout=WAIT_MS)
    assert again.outcome.status == "done"
    shown = again.outcome.result
    assert (shown.clean, shown.gaussian, shown.all) == (result.clean, result.gaussian, result.all)
    assert f"Gaussian {result.gaussian:.1f} %" in window.status.bar.format()
    from app.engine.project import Project

    reopened = Project.open(project_dir)
    try:
        assert reopened.load_result().gaussian == result.gaussian  # results.json keeps what was measured
        history = reopened.metrics_history()
        assert len(history) == evaluations  # nothing was evaluated again
    finally:
        reopened.close()
    # the loss plot shows the epochs already trained, not an empty panel
    trained = [(m.step, m.loss) for m in history if m.loss is not None]
    assert trained and list(zip(window.plots.loss.steps, window.plots.loss.losses)) == trained


def test_propagation_shows_what_one_answer_moved_and_the_experts_own_curve(window, qtbot, small):
    """AQPL-GNT with neighbours propagation in the desktop app: after the first round is
    answered (every answer σ 0.3), the level histogram shows the propagated levels as their own
    source and says how many examples one answer moved; the robustness plot draws the expert's
    reference line (share of answers ≥ σ)."""
    session = start_session(window, qtbot, small, overrides=short_session(method="aqpl-gnt", propagate="neighbours"))
    trainer, panel = session.trainer, window.panel
    qtbot.waitUntil(lambda: panel.queue.current is not None, timeout=WAIT_MS)
    answered = []
    while panel.queue.current is not None and len(answered) < 4:
        answered.append(panel.queue.current.example_id)
        qtbot.keyClick(panel, Qt.Key.Key_3)  # σ 0.3
    histogram, robustness = window.plots.levels, window.plots.robustness

    def propagated_shown():
        window.plots.redraw_dirty()
        return histogram.counts is not None and int(histogram.counts[Source.PROPAGATED].sum()) > 0

    qtbot.waitUntil(propagated_shown, timeout=WAIT_MS)
    counts = histogram.counts
    assert int(counts[Source.EXPERT].sum()) == len(answered) == 4
    assert int(counts[Source.PROPAGATED].sum()) == len(small.train_x) - 4  # every other example
    assert histogram.per_answer() == pytest.approx((len(small.train_x) - 4) / 4)
    assert "each answer moved about 149 examples" in histogram.widget.toolTip()
    labels = [label.text for _, label in histogram.legend.items]
    assert any("propagated (596 · 149/answer)" in text for text in labels)
    grid = trainer.settings.grid
    levels, shares = robustness.reference_points
    assert levels == grid and shares == [100.0 if g <= 0.3 + 1e-9 else 0.0 for g in grid]
    assert any("you still recognise (4 answers)" in label.text for _, label in robustness.legend.items)
    qtbot.waitUntil(lambda: panel.queue.current is not None or not session.active, timeout=WAIT_MS)
    while panel.queue.current is not None:
        qtbot.keyClick(panel, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    window.plots.redraw_dirty()
    assert robustness.reference_points[1][grid.index(0.5)] == 50.0  # 4 of 8 answers are ≥ 0.5
