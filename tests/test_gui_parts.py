"""The GUI's parts on their own: the panel's queue with undo/redo, the level histogram's
counts, the new-session dialog's defaults and validation, remembered settings, the query
panel's images and keys, progress text."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from app.engine.events import Progress  # noqa: E402
from app.gui.level_histogram import level_counts  # noqa: E402
from app.gui.query_queue import QueryQueue  # noqa: E402
from app.gui.status_bar import describe_progress, format_duration  # noqa: E402
from tests.helpers import GRID, query  # noqa: E402


def test_queue_undo_and_redo_are_unlimited_and_put_examples_back_in_front():
    queue = QueryQueue()
    assert queue.add([query(1), query(2), query(3)]) == 3
    assert queue.add([query(2), query(4)]) == 1  # an example is never queued twice
    queue.give(0.3)
    queue.give(None)  # skip
    queue.give(0.5)
    assert queue.current.example_id == 4 and queue.answered_count == 2
    assert [queue.undo().query.example_id for _ in range(3)] == [3, 2, 1]
    assert queue.undo() is None
    assert [q.example_id for q in queue.waiting] == [1, 2, 3, 4]
    assert queue.redo().level == 0.3 and queue.current.example_id == 2
    queue.give(0.9)  # a new answer ends the redo history
    assert queue.redo() is None
    assert [(a.query.example_id, a.level) for a in queue.done] == [(1, 0.3), (2, 0.9)]


def test_level_counts_bin_levels_to_the_grid_by_source():
    level = torch.tensor([0.0, 0.0, 0.1, 0.14, 0.26, 1.0, 0.4])
    source = torch.tensor([0, 0, 1, 1, 2, 2, 3], dtype=torch.uint8)  # initial, adapted, expert, propagated
    counts = level_counts(level, source, GRID)
    assert counts.shape == (4, 11) and int(counts.sum()) == 7
    assert counts[0, 0] == 2 and counts[1, 1] == 2 and counts[2, 3] == 1 and counts[2, 10] == 1 and counts[3, 4] == 1


def test_progress_text_names_epoch_batch_and_time_left():
    progress = Progress(phase="waiting", epoch=2, epochs=10, batch=47, batches=47, step=94, total_steps=470,
                        elapsed_s=60, eta_s=3725.0)
    assert describe_progress(progress) == "epoch 2/10 · batch 47/47 · waiting for your answers · 1:02:05 left"
    assert format_duration(None) == "…" and format_duration(61) == "1:01"


def test_new_session_defaults_start_on_the_embedded_dataset(qtbot, tmp_path):
    from app.gui.session_dialog import SessionDialog

    dialog = SessionDialog({}, tmp_path / "projects")
    qtbot.addWidget(dialog)
    request = dialog.build_request()
    # the expert's default session (defaults.toml [gui]): AQPL-GNT, answers spread to similar images
    assert request.overrides["dataset"] == "embedded" and request.overrides["method"] == "aqpl-gnt"
    assert request.overrides["mode"] == "continuous"  # the desktop default: nobody waits
    assert request.project and request.project.startswith(str(tmp_path / "projects"))
    assert "epochs" not in request.overrides and "grid" not in request.overrides  # the dataset's defaults
    dialog.method.setCurrentIndex(dialog.method.findData("aqpl-cat"))  # the suggested folder follows
    assert "embedded-aqpl-cat-" in dialog.project_dir.text()
    assert request.overrides["propagate"] == "neighbours"
    assert request.overrides["random_share"] == 0.0  # the strategy picks every query (defaults.toml)
    dialog.random_share.setValue(50)  # half and half (docs/results.md)
    assert dialog.build_request().overrides["random_share"] == 0.5
    dialog.propagate.setCurrentIndex(dialog.propagate.findData("none"))  # the paper's method
    assert dialog.build_request().overrides["propagate"] == "none"
    assert request.overrides["augment"] == "none"
    dialog.augment.setCurrentIndex(dialog.augment.findData("augmix"))  # the practitioner's peer, with any method
    assert dialog.build_request().overrides["augment"] == "augmix"


def test_new_session_dialog_shows_the_engines_one_line_message(qtbot, tmp_path):
    from app.gui.session_dialog import SessionDialog

    dialog = SessionDialog({"budget": "-5"}, None)
    qtbot.addWidget(dialog)
    dialog.accept()
    assert dialog.request is None and dialog.result() != SessionDialog.DialogCode.Accepted
    assert "negative" in dialog.error.text()
    dialog.budget.setText("5%")
    dialog.grid.setText("0, 0.2, 0.1")
    dialog.accept()
    assert "not strictly increasing" in dialog.error.text()
    dialog.grid.setText("0, 0.1, 0.2")
    dialog.accept()
    assert dialog.request.overrides["grid"] == [0.0, 0.1, 0.2]


def test_settings_store_remembers_the_last_session_and_recent_projects(tmp_path):
    from app.gui.settings_store import SettingsStore

    store = SettingsStore(tmp_path / "gui.ini")
    store.save_last_session({"dataset": "embedded", "epochs": 3})
    for name in ("a", "b", "a"):
        store.add_recent_project(str(tmp_path / name))
    store.sync()
    again = SettingsStore(tmp_path / "gui.ini")
    assert again.last_session() == {"dataset": "embedded", "epochs": 3}
    assert again.recent_projects() == [str(tmp_path / "a"), str(tmp_path / "b")]


class Sink:
    """Stands in for the trainer: records what the panel submits."""

    def __init__(self):
        self.calls = []

    def submit(self, message):
        kind = type(message).__name__.lower()
        self.calls.append((kind, message.example_id, message.level) if kind == "answer" else (kind, message.example_id))


def test_query_panel_shows_every_level_and_answers_by_key(qtbot, small):
    from app.engine.settings import Settings
    from app.gui.query_panel import QueryPanel

    panel = QueryPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    sink = Sink()
    panel.attach(sink, small, Settings(), budget=10)
    panel.add_queries([query(5, level=0.2), query(7)])
    assert len(panel.tiles) == 11 and panel.cursor == 2  # the selection starts at the current level
    tile = panel.tiles[3]
    assert tile.image.width() == 28 and tile.image_rect().width() % 28 == 0  # whole-number upscaling
    # one noise pattern: images differ only in strength (and the clean one is the example itself)
    assert torch.equal((panel.images[0] * 255).round().to(torch.uint8), small.train_x[5])
    assert (panel.images[10] - panel.images[0]).abs().mean() > (panel.images[1] - panel.images[0]).abs().mean()
    qtbot.keyClick(panel, Qt.Key.Key_Left)
    qtbot.keyClick(panel, Qt.Key.Key_Return)
    qtbot.mouseClick(panel.tiles[4], Qt.MouseButton.LeftButton)
    assert sink.calls == [("answer", 5, 0.1), ("answer", 7, 0.4)]
    qtbot.keyClick(panel, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert sink.calls[-1] == ("undo", 7) and panel.queue.current.example_id == 7
    assert "budget 1 / 10 used" in panel.status.text()


def test_colour_images_and_the_tile_layout():
    from app.gui.candidate_tile import best_layout
    from app.gui.qimage import to_qimage

    image = torch.zeros(3, 32, 32)
    image[0, 0, 0] = 1.0  # one red pixel, top left
    qimage = to_qimage(image)
    assert (qimage.width(), qimage.height()) == (32, 32)
    assert qimage.pixelColor(0, 0).red() == 255 and qimage.pixelColor(0, 0).green() == 0
    assert qimage.pixelColor(1, 0).red() == 0
    # 11 candidates of 28 px in a wide, short room: one row; in a square room: a grid with bigger images
    assert best_layout(11, 28, 28, 2000, 200)[0] == 11
    columns, scale = best_layout(11, 28, 28, 800, 700)
    assert 3 <= columns <= 6 and scale >= 5


def test_enter_in_the_new_session_dialog_starts_and_never_opens_a_file_browser(qtbot, tmp_path, monkeypatch):
    """An expert who presses Enter (in a field, or after tabbing onto Browse…) means Start."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from app.gui.session_dialog import SessionDialog

    opened = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: opened.append(a) or "")
    for target in ("budget", "browse"):
        dialog = SessionDialog({}, tmp_path / "projects")
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        widget = dialog.budget if target == "budget" else dialog.project_dir.browse_button
        widget.setFocus()
        qtbot.keyClick(widget, Qt.Key.Key_Return)
        assert dialog.result() == SessionDialog.DialogCode.Accepted, target
        assert dialog.request is not None and dialog.request.overrides["dataset"] == "embedded"
    assert opened == []


def test_the_progress_text_is_never_clipped_at_1366_pixels(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from app.gui.status_bar import TrainingStatusBar

    window = QMainWindow()
    status = TrainingStatusBar()
    window.setStatusBar(status)
    qtbot.addWidget(window)
    window.resize(1366 - 40, 700)
    window.show()
    status.set_state("training")
    status.set_device("cpu")
    status.project.setText("project: /home/someone/.local/share/aqpl-studio/projects/embedded-aqpl-cat-2026-11-29_21-39-39")
    # the longest text a run shows: the final epochs' evaluation of an expert-paced session
    final = Progress(phase="eval", epoch=12, epochs=12, batch=47, batches=47, step=564, total_steps=564, elapsed_s=600,
                     eta_s=0, pace="finishing", answers=17, budget=300, answers_per_min=3.0, final=True)
    status.set_progress(final)
    qtbot.wait(50)  # layouts update from the event loop
    text = status.bar.format()
    assert text == "epoch 12/12 · batch 47/47 · final epochs · evaluating · 0:00 left"
    assert status.bar.width() >= status.bar.fontMetrics().horizontalAdvance(text)
    assert status.answers.width() >= status.answers.fontMetrics().horizontalAdvance(status.answers.text())
    assert window.minimumSizeHint().width() <= 1366 - 40


def test_the_level_histograms_legend_never_hides_the_top_of_a_bar(qtbot):
    from PySide6.QtWidgets import QApplication

    from app.gui.level_histogram import LevelHistogram
    from app.gui.worker import LevelSnapshot

    histogram = LevelHistogram()
    qtbot.addWidget(histogram.widget)
    histogram.widget.resize(320, 330)  # its size in the main window at 1366×768
    histogram.widget.show()
    # GNT's table: every example at σ 0.7, a bar right under the legend (top right)
    snapshot = LevelSnapshot(torch.full((6000,), 0.7), torch.zeros(6000, dtype=torch.uint8), GRID)
    for _ in range(2):  # the legend's size settles in the event loop
        histogram.set_snapshot(snapshot)
        histogram.redraw()
        QApplication.processEvents()
    view = histogram.widget.getViewBox()
    bar_top = view.mapViewToScene(pg_point(7, 6000)).y()
    legend_bottom = histogram.legend.sceneBoundingRect().bottom()
    assert bar_top > legend_bottom  # scene y grows downwards: the bar ends below the legend


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_levels_drifting_above_the_experts_answers_are_said_in_words(qtbot):
    """A long session with the paper's AQPL-CAT: most of the set trains at σ 1.0 while the answers
    say nothing is recognisable beyond 0.6. The histogram and the status bar say so."""
    import torch

    from app.gui.level_histogram import LevelHistogram, drift_text
    from app.gui.worker import LevelSnapshot

    answers = torch.tensor([0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.6, 0.6, 0.6])
    level = torch.cat([torch.full((5200,), 1.0), torch.full((800,), 0.3)])
    sentence = drift_text(level, answers)
    assert sentence.startswith("5,200 of 6,000 examples (87%) train above σ 0.6")
    assert drift_text(torch.full((6000,), 0.4), answers) is None  # levels under the answers: silent
    assert drift_text(level, answers[:3]) is None  # three answers say too little

    histogram = LevelHistogram()
    qtbot.addWidget(histogram.widget)
    said = []
    histogram.on_drift = said.append
    source = torch.full((6000,), 1, dtype=torch.uint8)
    histogram.set_snapshot(LevelSnapshot(level=level, source=source, grid=[round(0.1 * i, 1) for i in range(11)],
                                         answers=answers))
    histogram.redraw()
    assert said == [sentence] and "⚠" in histogram.widget.plotItem.titleLabel.text
    assert sentence in histogram.widget.toolTip()


def test_the_drift_sentence_is_shown_under_the_plots_without_widening_them(qtbot):
    import torch

    from app.gui.plots import PlotsPanel
    from app.gui.worker import LevelSnapshot

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(640, 600)
    panel.show()
    width = panel.minimumSizeHint().width()
    answers = torch.tensor([0.2, 0.3, 0.4, 0.5, 0.6, 0.6])
    level = torch.full((6000,), 1.0)
    panel.set_levels(LevelSnapshot(level=level, source=torch.ones(6000, dtype=torch.uint8),
                                   grid=[round(0.1 * i, 1) for i in range(11)], answers=answers))
    panel.redraw_dirty()
    assert panel.drift_note.isVisible() and "6,000 of 6,000 examples (100%) train above σ 0.6" in panel.drift_note.text()
    assert panel.minimumSizeHint().width() <= width  # the sentence wraps; the window stays within the screen
    panel.set_levels(LevelSnapshot(level=torch.full((6000,), 0.3), source=torch.ones(6000, dtype=torch.uint8),
                                   grid=[round(0.1 * i, 1) for i in range(11)], answers=answers))
    panel.redraw_dirty()
    assert not panel.drift_note.isVisible()
