"""What the expert of issue 19 met in the window (sections 3-5), as tests: the export folder and
the message after it, candidates large enough to judge with a key each, and the smaller things
(the accuracy plot, the status line, the progress bar, badges, predictions, paused time, undo
after reopening)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.main_window import MainWindow, default_geometry  # noqa: E402
from app.gui.settings_store import SettingsStore  # noqa: E402
from tests.helpers import WAIT_MS, metrics, query, start_session  # noqa: E402


class Sink:
    """Stands in for the trainer: records what the panel submits."""

    def __init__(self):
        self.messages = []

    def submit(self, message):
        self.messages.append(message)


def window_at(qtbot, tmp_path, screen: QRect) -> MainWindow:
    """The main window as it opens on a screen of this size, a query on screen."""
    window = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    qtbot.addWidget(window)
    window.setGeometry(default_geometry(screen))
    window.splitter.setSizes([int(window.width() * 0.53), int(window.width() * 0.47)])  # its first-start split
    window.show()
    qtbot.waitExposed(window)
    return window


def show_query(window, dataset, level: float = 0.2) -> Sink:
    from app.engine.settings import Settings

    sink = Sink()
    window.panel.attach(sink, dataset, Settings(), budget=300)
    window.panel.add_queries([query(5, level=level), query(7), query(9)])
    for _ in range(3):
        QApplication.processEvents()
    return sink


# -- §4: candidates large enough to judge, each with a key ------------------------------------------
@pytest.mark.parametrize("size, scale", [((1366, 768), 4), ((1920, 1080), 5)])
def test_candidates_fill_the_panel_at_four_times_on_a_laptop_and_five_on_full_hd(qtbot, tmp_path, small, size, scale):
    window = window_at(qtbot, tmp_path, QRect(0, 0, *size))
    show_query(window, small)
    panel = window.panel
    sides = {tile.image_rect().width() for tile in panel.tiles}
    assert len(sides) == 1, sides  # every candidate at the same size
    side = sides.pop()
    assert side % 28 == 0 and side >= 28 * scale, f"{side:.0f} px at {size}"  # whole-number scale, at least 4× / 5×
    # the grid uses the panel: little empty room above and below it, or beside it
    top = min(tile.y() for tile in panel.tiles)
    bottom = max(tile.geometry().bottom() for tile in panel.tiles)
    left = min(tile.x() for tile in panel.tiles)
    right = max(tile.geometry().right() for tile in panel.tiles)
    host = panel.grid_host
    assert (bottom - top) / host.height() > 0.85 or (right - left) / host.width() > 0.85


def test_every_candidate_has_a_key_and_the_eleventh_is_a(qtbot, tmp_path, small):
    window = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    sink = show_query(window, small)
    panel = window.panel
    assert [tile.key for tile in panel.tiles] == list("0123456789A")
    qtbot.keyClick(panel, Qt.Key.Key_A)  # σ 1.0, the 11th candidate
    assert sink.messages[-1].example_id == 5 and sink.messages[-1].level == 1.0
    qtbot.keyClick(panel, Qt.Key.Key_9)
    assert sink.messages[-1].example_id == 7 and sink.messages[-1].level == 0.9
    assert "0–9 or A" in panel.subtitle.text()


def test_badges_leave_every_image_pixel_as_a_crisp_square(qtbot, tmp_path, small):
    """The number and the "now" badge sit under the image: every pixel of the enlarged image on
    screen is its source pixel, nearest-neighbour, nothing drawn over a corner."""
    window = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    show_query(window, small, level=0.2)
    panel = window.panel
    tile = panel.tiles[2]  # selected, and the level the example trains at now: both badges
    assert tile.selected and tile.is_current and tile.key == "2"
    shot = tile.grab().toImage()
    rect = tile.image_rect()
    scale = int(rect.width()) // tile.image.width()
    wrong = 0
    for y in range(int(rect.height())):
        for x in range(int(rect.width())):
            expected = tile.image.pixelColor(x // scale, y // scale).red()
            wrong += abs(shot.pixelColor(int(rect.x()) + x, int(rect.y()) + y).red() - expected) > 1
    assert wrong == 0, f"{wrong} of {int(rect.width()) ** 2} image pixels differ from the source pixel"
    assert not tile.key_rect().intersects(rect) and not tile.now_rect().intersects(rect)
    assert tile.key_rect().width() > 0 and tile.now_rect().width() > 0


# -- §3: export --------------------------------------------------------------------------------------
def test_export_suggests_a_folder_that_exists_and_says_where_the_files_went(qtbot, tmp_path, monkeypatch, make_settings):
    from pathlib import Path

    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QFileDialog

    from app.engine.project import Project

    project_dir = tmp_path / "project"
    Project.create(project_dir, make_settings(dataset="embedded")).close()

    def fake_export(self, folder, trainer=None, on_warning=None, onnx=True):  # the engine's export is tested elsewhere
        Path(folder).mkdir(parents=True, exist_ok=True)
        files = [Path(folder) / name for name in ("levels.csv", "answers.csv", "report.md")]
        for f in files:
            f.write_text("x\n")
        on_warning("model.onnx: not exported (a test)")
        return files

    monkeypatch.setattr(Project, "export", fake_export)
    suggested = []

    def choose(parent, caption, directory):  # what the expert sees: the suggested folder exists, Choose works
        suggested.append((directory, Path(directory).is_dir()))
        return directory

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    qtbot.addWidget(window)
    window.show()
    window.last_project = str(project_dir)
    window._update_actions()
    assert window.export_action.isEnabled()
    window.export_action.trigger()  # Ctrl+E
    folder = project_dir / "export"
    assert suggested == [(str(folder), True)]
    qtbot.waitUntil(lambda: window.export_box is not None, timeout=WAIT_MS)
    box = window.export_box
    assert box.isVisible() and str(folder) in box.text() and "3 files" in box.text()
    assert "levels.csv" in box.informativeText() and "model.onnx" in box.informativeText()
    box.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(folder))]
    assert (folder / "levels.csv").is_file()


def test_a_suggested_export_folder_that_was_not_chosen_is_not_left_behind(qtbot, tmp_path, monkeypatch, make_settings):
    from PySide6.QtWidgets import QFileDialog

    from app.engine.project import Project

    project_dir = tmp_path / "project"
    Project.create(project_dir, make_settings(dataset="embedded")).close()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: "")  # the expert cancels
    window = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    qtbot.addWidget(window)
    window.last_project = str(project_dir)
    window.export_project()
    assert not (project_dir / "export").exists() and window.export_job is None


# -- §5: the accuracy plot ------------------------------------------------------------------------------
def accuracy_plot(qtbot, history):
    from app.gui.plots import AccuracyPlot

    plot = AccuracyPlot()
    qtbot.addWidget(plot.widget)
    plot.widget.resize(320, 330)  # its size in the main window at 1366×768
    plot.widget.show()
    for m in history:
        plot.add(m)
    for _ in range(2):
        plot.redraw()
        QApplication.processEvents()
    return plot


def test_undo_and_redo_never_make_the_accuracy_line_go_back(qtbot):
    """Undo and redo move the answer count back and forth: one point per count, the latest."""
    answers = [3, 8, 12, 10, 12, 15, 13, 17, 20, 24, 22, 26]  # undos at 10, 13 and 22
    history = [metrics(1, 0, 50.0), metrics(2, 0, 60.0)]
    history += [metrics(2 + i, a, 60.0 + i) for i, a in enumerate(answers, 1)]
    plot = accuracy_plot(qtbot, history)
    xs = [x for x, _ in plot.points["clean"]]
    assert xs == sorted(set([0] + answers)) and xs == sorted(xs)  # never backwards
    assert dict(plot.points["clean"])[12] == 60.0 + answers.index(12, 3) + 1  # the latest evaluation at 12 answers
    drawn = plot.items["clean"].getData()[0]
    assert list(drawn) == xs


def test_the_accuracy_plots_axis_counts_whole_answers_from_zero_and_nothing_covers_the_data(qtbot):
    plot = accuracy_plot(qtbot, [metrics(1, 0, 60.0), metrics(2, 1, 62.0)])  # the first answer
    view = plot.widget.getViewBox()
    low, high = view.viewRange()[0]
    assert -0.5 < low <= 0 and 1 <= high < 2  # not −20…+20
    axis = plot.widget.getAxis("bottom")
    ticks = [v for _, values in axis.tickValues(low, high, axis.width()) for v in values]
    assert ticks and all(v == int(v) and v >= 0 for v in ticks), ticks  # no 0.5 answers
    assert 0 in ticks
    many = accuracy_plot(qtbot, [metrics(1, 0, 60.0)] + [metrics(1 + a, a, 60.0 + a / 2) for a in range(1, 31)]
                         + [metrics(32, 30, 75.0, final=True, gaussian=65.0, all=33.0)])
    # no legend box inside the data area (after 20 answers it covered the line): the title names the series
    legend = many.widget.getPlotItem().legend
    data_area = many.widget.getViewBox().sceneBoundingRect()
    assert legend is None or not legend.sceneBoundingRect().intersects(data_area)
    title = many.widget.getPlotItem().titleLabel.text
    from app.gui import theme

    for name, colour in theme.METRIC_COLOURS.items():
        assert f"color:{colour}'>━ {name.capitalize()}" in title
    assert many.widget.getViewBox().viewRange()[0][0] <= 0 <= many.widget.getViewBox().viewRange()[0][1]


# -- §5: the status line ------------------------------------------------------------------------------
def test_the_status_line_counts_an_answer_the_moment_it_is_given(qtbot, tmp_path, small):
    from app.engine.events import Progress

    window = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    sink = show_query(window, small)

    def report(answers):  # what training reports; it applies an answer at its next batch
        return Progress(phase="train", epoch=12, epochs=13, batch=5, batches=47, step=500, total_steps=611, elapsed_s=60,
                        eta_s=9, pace="extending", extra_epochs=3, answers=answers, budget=300, answers_per_min=4.0,
                        idle_left_s=75)

    window.status.set_progress(report(0))
    assert window.status.answers.text().startswith("answers 0/300")
    qtbot.keyClick(window.panel, Qt.Key.Key_3)
    assert len(sink.messages) == 1
    assert window.status.answers.text().startswith("answers 1/300 · 4.0/min · 299 left")  # no event loop turn needed
    window.status.set_progress(report(0))  # a report from the batch before the answer was applied
    assert window.status.answers.text().startswith("answers 1/300")  # does not flick back
    qtbot.keyClick(window.panel, Qt.Key.Key_Backspace)
    assert window.status.answers.text().startswith("answers 0/300")
    # one numbering of epochs: the status line's epoch is the robustness legend's
    assert window.status.bar.format().startswith("epoch 12 (extra 3) · batch 5/47")


def test_an_evaluation_between_epochs_is_named_by_the_epoch_it_evaluates():
    """The robustness legend says "after epoch 9" for the evaluation that ends epoch 9: while it
    runs, the status line names epoch 9 too (the engine reports it with the next epoch's number)."""
    from app.engine.events import Progress
    from app.gui.status_bar import describe_progress

    def evaluating(epoch, epochs, final=False, pace="", extra=0):
        return Progress(phase="eval", epoch=epoch, epochs=epochs, batch=47, batches=47, step=47 * (epoch - 1),
                        total_steps=47 * epochs, elapsed_s=60, eta_s=30, final=final, pace=pace, extra_epochs=extra,
                        idle_left_s=80 if pace else None)

    assert describe_progress(evaluating(10, 11, pace="extending", extra=1)).startswith("epoch 9 (extra 1) · batch 47/47 · evaluating")
    assert describe_progress(evaluating(3, 10)).startswith("epoch 2/10 · batch 47/47 · evaluating")
    assert describe_progress(evaluating(10, 10, final=True)).startswith("epoch 10/10 · batch 47/47 · evaluating")


def contrast(a, b) -> float:
    """WCAG contrast ratio of two QColors."""
    def luminance(c):
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())

    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("done", [0, 100])
def test_the_progress_bars_text_reads_on_its_done_and_its_empty_part(qtbot, done):
    from PySide6.QtWidgets import QMainWindow

    from app.gui import theme
    from app.gui.status_bar import TrainingStatusBar

    window = QMainWindow()
    window.setStyleSheet(theme.STYLE_SHEET)  # as the application sets it
    status = TrainingStatusBar()
    window.setStatusBar(status)
    qtbot.addWidget(window)
    window.resize(1326, 200)
    window.show()
    qtbot.waitExposed(window)
    status.bar.setRange(0, 100)
    status.bar.setValue(done)
    status.bar.setFormat("epoch 12 (extra 3) · batch 5/47 · ends after 1:15 idle or F8")
    status._show(status.bar.format())  # as wide as its text, as in the window
    qtbot.wait(20)
    shot = status.bar.grab().toImage()
    w, h = shot.width(), shot.height()
    from collections import Counter

    pixels = [shot.pixelColor(x, y) for x in range(w // 4, 3 * w // 4) for y in range(3, h - 3)]
    background = QColor(Counter(c.name() for c in pixels).most_common(1)[0][0])  # the fill behind the text
    text = min(pixels, key=lambda c: c.lightness())
    assert contrast(text, background) >= 7, (text.name(), background.name())


# -- §5: paused time, predictions, undo after reopening ------------------------------------------------
class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_pause_does_not_count_in_the_time_an_answer_took(qtbot, tmp_path, small):
    from app.gui.query_queue import QueryQueue
    from app.gui.worker import RunState

    window = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    clock = Clock()
    window.panel.queue = QueryQueue(clock=clock)
    sink = show_query(window, small)
    clock.now += 2.0  # looks at the query for 2 s
    window._on_state(RunState.PAUSED)  # F6 (the session's state change), then a minute away
    clock.now += 60.0
    qtbot.keyClick(window.panel, Qt.Key.Key_3)  # back, answers while still paused
    assert sink.messages[-1].time_taken_s == pytest.approx(2.0)
    clock.now += 4.0  # the next query, still paused: the expert is here, its clock runs
    qtbot.keyClick(window.panel, Qt.Key.Key_4)
    assert sink.messages[-1].time_taken_s == pytest.approx(4.0)
    clock.now += 1.0
    window._on_state(RunState.PAUSED)
    clock.now += 30.0
    window._on_state(RunState.RUNNING)  # F6 again: resumed
    clock.now += 2.0
    qtbot.keyClick(window.panel, Qt.Key.Key_5)
    assert sink.messages[-1].time_taken_s == pytest.approx(3.0)
    assert "last answer 3.0 s" in window.panel.status.text()


def test_predictions_never_block_the_window_and_use_the_copy_the_panel_holds(qtbot, tmp_path, small, monkeypatch):
    """P asks a thread of its own: a slow model never holds up a key press, and the predictions
    come from the copy of the model the panel already holds (no wait for training)."""
    import time

    from app.gui.predictions import Predictor

    real = Predictor.predict

    def slow(self, images):
        time.sleep(0.8)
        return real(self, images)

    monkeypatch.setattr(Predictor, "predict", slow)
    window = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    show_query(window, small)
    panel = window.panel
    from app.engine.settings import Settings
    from models import build

    panel.set_model_state(build(Settings().model, 10, 1, 28).state_dict())  # the worker's copy, before P is pressed
    started = time.perf_counter()
    qtbot.keyClick(panel, Qt.Key.Key_P)
    assert time.perf_counter() - started < 0.3  # the GUI thread went on at once
    assert panel.predictions_box.isChecked() and all(tile.prediction is None for tile in panel.tiles)
    qtbot.waitUntil(lambda: all(tile.prediction is not None for tile in panel.tiles), timeout=10_000)
    qtbot.keyClick(panel, Qt.Key.Key_3)  # the next query: its own predictions, never the last one's
    assert all(tile.prediction is None for tile in panel.tiles)
    qtbot.waitUntil(lambda: all(tile.prediction is not None for tile in panel.tiles), timeout=10_000)


def session_overrides(**kw) -> dict:
    values = dict(mode="continuous", epochs=40, warmup_epochs=1, round_every=1, batch_size=100, budget="20",
                  queries_per_round=6, eval_every=1, eval_subset=200)
    values.update(kw)
    return values


@pytest.fixture
def live_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AQPL_LOG_DIR", str(tmp_path / "logs"))
    w = window_at(qtbot, tmp_path, QRect(0, 0, 1366, 768))
    w.confirm = lambda question: True
    return w


def cancel(window, qtbot) -> None:
    """Before the test ends: pytest-qt deletes the window, which must not happen under a running worker."""
    session = window.session
    if session is not None and session.active:
        window.session.cancel()
        qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)


def test_predictions_appear_while_training_is_paused(live_window, qtbot, small):
    """The worker sends its model after each evaluation: P needs no batch to run (paused, none does)."""
    window = live_window
    session = start_session(window, qtbot, small, overrides=session_overrides())
    panel = window.panel
    qtbot.waitUntil(lambda: panel.queue.current is not None, timeout=WAIT_MS)
    assert panel.has_model  # before anyone asked for predictions
    window.pause_action.trigger()  # F6
    qtbot.waitUntil(session.worker.parked.is_set, timeout=WAIT_MS)
    qtbot.keyClick(panel, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: all(tile.prediction is not None for tile in panel.tiles), timeout=5_000)
    assert session.state == "paused"
    cancel(window, qtbot)


def test_undo_takes_back_a_reopened_projects_answers(live_window, qtbot, small, tmp_path):
    from app.engine.levels import Source

    window = live_window
    project_dir = tmp_path / "reopened"
    session = start_session(window, qtbot, small, overrides=session_overrides(), project=str(project_dir))
    panel = window.panel
    qtbot.waitUntil(lambda: len(panel.queue) >= 2, timeout=WAIT_MS)
    first = panel.queue.current
    qtbot.keyClick(panel, Qt.Key.Key_4)
    second = panel.queue.current
    qtbot.keyClick(panel, Qt.Key.Key_6)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not session.active, timeout=WAIT_MS)

    again = start_session(window, qtbot, small, project=str(project_dir), open_existing=True)
    trainer = again.trainer
    qtbot.waitUntil(lambda: panel.accepting, timeout=WAIT_MS)
    assert panel.undo_button.isEnabled()  # right after reopening
    assert "budget 2 / 20 used" in panel.status.text()
    qtbot.keyClick(panel, Qt.Key.Key_Backspace)  # takes back the last answer given before closing
    assert panel.queue.current.example_id == second.example_id
    assert panel.tiles[panel.cursor].level == 0.6  # the answer it had is selected
    qtbot.waitUntil(lambda: second.example_id in trainer.book.pending, timeout=WAIT_MS)
    assert int(trainer.table.source[second.example_id]) != Source.EXPERT
    assert trainer.book.answered == {first.example_id: 0.4}
    assert "budget 1 / 20 used" in panel.status.text()
    qtbot.keyClick(panel, Qt.Key.Key_Backspace)  # and the one before
    assert panel.queue.current.example_id == first.example_id and not panel.undo_button.isEnabled()
    qtbot.keyClick(panel, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ShiftModifier)  # redo
    qtbot.waitUntil(lambda: trainer.book.answered.get(first.example_id) == 0.4, timeout=WAIT_MS)
    cancel(window, qtbot)
