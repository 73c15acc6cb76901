"""The window's side of expert-paced sessions and of fitting the screen: the Finish key, the
status line's answers and rate, geometry that fits 1366×768, and the accuracy plot's x axis."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QRect, Qt  # noqa: E402

from app.engine.events import Progress  # noqa: E402
from app.gui.main_window import MainWindow, clamp_geometry, default_geometry  # noqa: E402
from app.gui.plots import AccuracyPlot  # noqa: E402
from app.gui.prepare import SessionRequest  # noqa: E402
from app.gui.settings_store import SettingsStore  # noqa: E402
from app.gui.shortcuts import WINDOW_KEYS  # noqa: E402
from app.gui.status_bar import describe_answers, describe_progress  # noqa: E402
from tests.helpers import WAIT_MS, metrics  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AQPL_LOG_DIR", str(tmp_path / "logs"))
    w = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    w.confirm = lambda question: True
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.session is not None and w.session.active:
        w.session.cancel()
        qtbot.waitUntil(lambda: not w.session.active, timeout=WAIT_MS)


def test_finish_key_ends_the_extension_and_every_answer_counts(window, qtbot, small):
    overrides = dict(mode="continuous", epochs=2, warmup_epochs=1, batch_size=100, budget="8", queries_per_round=4,
                     eval_every=1, eval_subset=200)
    session = window.start_session(SessionRequest(dataset=small, load_suite=False, overrides=overrides))
    qtbot.waitUntil(lambda: window.panel.queue.current is not None, timeout=WAIT_MS)
    trainer = session.trainer
    assert trainer.paced
    for _ in range(3):
        qtbot.keyClick(window.panel, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: trainer.extra_epochs >= 2, timeout=WAIT_MS)  # it waits for the expert
    assert "(extra " in window.status.bar.format()
    qtbot.waitUntil(lambda: window.status.answers.text().startswith("answers 3/8"), timeout=WAIT_MS)
    # a query on screen, every status text set, a long project path: still fits 1366×768
    window.status.project.setText("project: /home/someone/.local/share/aqpl-studio/projects/" + "x" * 90)
    window.plots.redraw_dirty()
    qtbot.wait(50)  # layouts update from the event loop
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 - 40 and hint.height() <= 768 - 40, hint
    window._update_actions()
    assert window.finish_action.isEnabled() and window.finish_action.shortcut().toString() == "F8"
    window.toggle_pause()  # F6: hold training still so the next answer surely lands in the final phase
    qtbot.waitUntil(lambda: session.worker.parked.is_set(), timeout=WAIT_MS)
    extended = trainer.extra_epochs  # the extension so far, the epoch under way included
    window.finish_action.trigger()  # F8
    qtbot.keyClick(window.panel, Qt.Key.Key_2)  # an answer given after Finish still counts
    window.toggle_pause()
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)
    assert trainer.finishing == "finish" and session.outcome.status == "done"
    assert session.outcome.result.queries_used == 4 == trainer.history[-1].answers
    assert "4 answers" in window.status.bar.format()
    # F8 ended the extension: no epoch was added after it, and the planned final phase ran to its end
    assert trainer.extra_epochs == extended and trainer.epoch == trainer.settings.epochs + extended
    assert dict(WINDOW_KEYS)[window.finish_action.shortcut().toString()].startswith("finish")  # the help's F8 line


def test_the_status_line_says_answers_rate_and_what_remains():
    progress = Progress(phase="train", epoch=12, epochs=13, batch=5, batches=47, step=500, total_steps=611,
                        elapsed_s=60, eta_s=9, pace="extending", extra_epochs=3, answers=42, budget=300,
                        answers_per_min=4.25, idle_left_s=75)
    assert describe_answers(progress) == "answers 42/300 · 4.2/min · 258 left"
    # epochs counted from the start, as the plots count them ("after epoch 11"), the extra ones in brackets
    assert describe_progress(progress) == "epoch 12 (extra 3) · batch 5/47 · ends after 1:15 idle or F8"
    progress.answers = 300
    assert describe_answers(progress).endswith("budget spent")
    progress.budget = 0
    assert describe_answers(progress) == ""  # a method without queries


@pytest.mark.parametrize("screen", [QRect(0, 0, 1366, 768 - 28), QRect(0, 24, 1440, 900 - 24), QRect(0, 0, 1920, 1080)])
def test_the_default_window_fits_the_screen(screen):
    geometry = default_geometry(screen)
    assert screen.contains(geometry)
    assert geometry.width() <= screen.width() - 40 and geometry.height() <= screen.height() - 40
    remembered = QRect(300, 200, 1500, 900)  # from a larger screen
    clamped = clamp_geometry(remembered, screen)
    assert screen.contains(clamped) and clamped.width() <= screen.width() - 40


def test_the_window_opens_inside_a_small_screen(qtbot, tmp_path):
    store = SettingsStore(tmp_path / "gui.ini")
    w = MainWindow(store, project_root=tmp_path / "projects")
    qtbot.addWidget(w)
    available = w.screen().availableGeometry()
    assert available.contains(w.geometry())
    w.setGeometry(QRect(available.x() + 100, available.y() + 100, available.width() + 600, available.height() + 400))
    w.save_layout()  # remembered from a bigger screen
    again = MainWindow(store, project_root=tmp_path / "projects")
    qtbot.addWidget(again)
    assert available.contains(again.geometry())


def test_accuracy_is_plotted_by_epoch_until_the_first_answer(qtbot):
    plot = AccuracyPlot()
    plot.set_x_axis(False)
    plot.add(metrics(1, 0, 50.0))
    plot.add(metrics(2, 0, 60.0))
    assert plot.points["clean"] == [(1, 50.0), (2, 60.0)] and plot.x_is_epoch
    plot.add(metrics(3, 5, 65.0))
    plot.add(metrics(4, 9, 70.0))
    # from the first answer on: answers, starting from the last evaluation before any (at 0)
    assert plot.points["clean"] == [(0, 60.0), (5, 65.0), (9, 70.0)] and not plot.x_is_epoch
    assert plot.widget.getAxis("bottom").labelText == "answers"
