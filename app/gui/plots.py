"""Live plots: the robustness curve after each evaluation (older curves faded), Clean /
Gaussian / All accuracy against answers given, the training loss, and the level histogram.

New data only marks a plot dirty; a timer redraws dirty plots at most every REDRAW_MS, so a
burst of progress reports never turns into a burst of redraws (plotting never slows training
or the UI).
"""

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from app.engine.events import Metrics, Phase, Progress
from app.gui import theme
from app.gui.level_histogram import LevelHistogram
from app.gui.plot_style import make_plot

REDRAW_MS = 500
MAX_CURVES = 12  # robustness curves kept on screen (older ones drop off)


def _faded(colour: str, alpha: int) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


def recognised_share(answers, levels: list[float]) -> list[float]:
    """For each σ, the share (%) of answered examples whose answer is ≥ σ: what the expert still
    recognises at that noise, on the same axes as the model's accuracy."""
    if answers is None or len(answers) == 0:
        return []
    return [100.0 * float((answers >= level - 1e-6).float().mean()) for level in levels]


class RobustnessPlot:
    def __init__(self):
        self.widget = make_plot("Robustness curve", "noise σ", "accuracy %")
        self.widget.setYRange(0, 100, padding=0.02)
        self.legend = self.widget.addLegend(offset=(-10, 10), labelTextColor=theme.TEXT)
        self.curves: list[Metrics] = []
        self.items: list[pg.PlotDataItem] = []
        # the expert's own curve: a dashed step line, drawn under the model's curves
        self.reference = self.widget.plot([], [], pen=pg.mkPen(theme.SOURCE_COLOURS[2], width=2, style=Qt.PenStyle.DashLine))
        self.reference.setZValue(-1)
        self.reference_points: tuple[list[float], list[float]] = ([], [])
        self.answers = 0
        self.dirty = False

    def set_answers(self, answers, grid: list[float]) -> None:
        """The reference line from the expert's answers so far (a level snapshot's)."""
        shares = recognised_share(answers, grid)
        points, count = (list(grid) if shares else [], shares), 0 if answers is None else len(answers)
        if (points, count) != (self.reference_points, self.answers):
            self.reference_points, self.answers = points, count
            self.dirty = True

    def add(self, metrics: Metrics) -> None:
        self.curves.append(metrics)
        self.dirty = True

    def clear(self) -> None:
        self.curves = []
        for item in self.items:
            self.widget.removeItem(item)
        self.items = []
        self.reference_points, self.answers = ([], []), 0
        self.reference.setData([], [])
        self.legend.clear()
        self.dirty = False

    def redraw(self) -> None:
        self.dirty = False
        shown = self.curves[-MAX_CURVES:]
        while len(self.items) < len(shown):
            self.items.append(self.widget.plot([], []))
        self.legend.clear()
        for i, (item, m) in enumerate(zip(self.items, shown)):
            latest = i == len(shown) - 1
            age = len(shown) - 1 - i
            alpha = 255 if latest else max(35, 150 - 18 * age)  # older curves fade out
            colour = "#111827" if m.final else theme.ACCENT
            item.setData(m.curve_levels, m.curve_accuracy)
            item.setPen(pg.mkPen(_faded(colour, alpha), width=3 if latest else 1.5))
            item.setSymbol("o" if latest else None)
            item.setSymbolSize(5)
            item.setSymbolBrush(_faded(colour, alpha))
            item.setSymbolPen(None)
            item.setZValue(i)
        if shown:
            m = shown[-1]
            label = "final" if m.final else f"after epoch {m.epoch}"
            self.legend.addItem(self.items[len(shown) - 1], f"{label} · {m.answers} answers")
        self.reference.setData(*self.reference_points)
        if self.reference_points[0]:
            self.legend.addItem(self.reference, f"you still recognise ({self.answers} answer{'s' if self.answers != 1 else ''})")


class AccuracyPlot:
    """Clean after every evaluation; Gaussian and All where the evaluation has them (the
    final one, which runs the corruption suite).

    Until the first answer the x axis is the epoch (before it every evaluation has 0 answers and
    would stack at x = 0); from the first answer on it is the answers given, starting from the
    last evaluation before any answer, at 0. One point per answer count, the latest evaluation
    at that count: undo and redo move the count back and forth, the line does not. The x axis
    shows whole numbers from 0 (or the first epoch) up; the series are named in the title, so
    no legend covers the data."""

    TITLE_H = 44  # the title's two lines: the plot's name, the series in their colours

    def __init__(self):
        self.widget = make_plot("Accuracy by answers given", "answers", "accuracy %", integer_x=True)
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k in theme.METRIC_COLOURS}
        self.items = {}
        for name, colour in theme.METRIC_COLOURS.items():
            self.items[name] = self.widget.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                                                symbolBrush=colour, symbolPen=None, name=name.capitalize())
        self.by_epoch = False  # methods without queries: always by epoch
        self.x_is_epoch = True  # what the x axis shows now
        self.history: list[Metrics] = []
        self.dirty = False
        self._set_axis(True)
        self._fit_x()

    def set_x_axis(self, by_epoch: bool) -> None:
        """Methods without queries have no answers to count: accuracy against epochs."""
        self.by_epoch = by_epoch
        self._set_axis(True)

    def _set_axis(self, epochs: bool) -> None:
        self.x_is_epoch = epochs
        label = "epoch" if self.by_epoch or not epochs else "epoch (answers from the first answer on)"
        self.widget.setLabel("bottom", label if epochs else "answers")
        self.widget.setTitle(self.title(), color=theme.TEXT, size="11pt")
        item = self.widget.getPlotItem()
        item.titleLabel.setMaximumHeight(self.TITLE_H)
        item.layout.setRowFixedHeight(0, self.TITLE_H)

    def title(self) -> str:
        name = "Accuracy by epoch" if self.by_epoch else "Accuracy by answers given"
        keys = "&nbsp;&nbsp;".join(f"<span style='color:{colour}'>━ {series.capitalize()}</span>"
                                   for series, colour in theme.METRIC_COLOURS.items())
        return f"{name}<br><span style='font-size:9pt; font-weight:normal'>{keys}</span>"

    def add(self, metrics: Metrics) -> None:
        self.history.append(metrics)
        if self.x_is_epoch and not self.by_epoch and metrics.answers > 0:
            self._set_axis(False)
        self._rebuild()
        self.dirty = True

    def _rebuild(self) -> None:
        shown = self.history
        if not self.x_is_epoch:
            # the last evaluation before any answer stands for "0 answers"; earlier ones drop out
            first = next(i for i, m in enumerate(shown) if m.answers > 0)
            shown = shown[max(first - 1, 0):]
        for name in self.points:
            latest: dict[float, float] = {}  # x → the latest value there (undo / redo revisit a count)
            for m in shown:
                if getattr(m, name) is not None:
                    latest[m.epoch if self.x_is_epoch else m.answers] = getattr(m, name)
            self.points[name] = sorted(latest.items())

    def clear(self) -> None:
        self.history = []
        for name in self.points:
            self.points[name] = []
            self.items[name].setData([], [])
        self._set_axis(True)
        self._fit_x()
        self.dirty = False

    def _fit_x(self) -> None:
        """From 0 answers (or the first epoch) to the last, at least one wide."""
        xs = [x for points in self.points.values() for x, _ in points]
        low = 0 if not xs or not self.x_is_epoch else min(xs)
        high = max(xs + [low + 1])
        self.widget.setXRange(low, high, padding=0.05)

    def redraw(self) -> None:
        self.dirty = False
        for name, points in self.points.items():
            self.items[name].setData([p[0] for p in points], [p[1] for p in points])
        self._fit_x()


class LossPlot:
    """The loss of the batches between two progress reports (derived from the engine's
    running epoch mean), and its moving average."""

    SMOOTHING = 0.15

    def __init__(self):
        self.widget = make_plot("Training loss", "step", "loss")
        self.raw = self.widget.plot([], [], pen=pg.mkPen(_faded(theme.ACCENT, 70), width=1))
        self.smooth = self.widget.plot([], [], pen=pg.mkPen(theme.ACCENT, width=2))
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.averages: list[float] = []
        self._last = None  # (epoch, batch, running mean) of the previous report
        self.dirty = False

    def add(self, progress: Progress) -> None:
        if progress.loss is None or progress.phase != Phase.TRAIN or (self.steps and progress.step <= self.steps[-1]):
            return
        epoch, batch, mean = progress.epoch, progress.batch, progress.loss
        if self._last is not None and self._last[0] == epoch and self._last[1] < batch:
            _, last_batch, last_mean = self._last
            loss = (mean * batch - last_mean * last_batch) / (batch - last_batch)
        else:
            loss = mean  # first report of an epoch: the mean of its first batches
        self._last = (epoch, batch, mean)
        average = loss if not self.averages else self.averages[-1] + self.SMOOTHING * (loss - self.averages[-1])
        self._append(progress.step, loss, average)

    def add_epoch(self, metrics: Metrics) -> None:
        """One epoch's mean loss from the project's history: a reopened project shows the loss
        of the epochs already trained (one point each), and live reports continue after them."""
        if metrics.loss is None or (self.steps and metrics.step <= self.steps[-1]):
            return
        self._append(metrics.step, metrics.loss, metrics.loss)  # an epoch's mean is already an average

    def _append(self, step: int, loss: float, average: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        self.averages.append(average)
        self.dirty = True

    def clear(self) -> None:
        self.steps, self.losses, self.averages, self._last = [], [], [], None
        self.raw.setData([], [])
        self.smooth.setData([], [])
        self.dirty = False

    def redraw(self) -> None:
        self.dirty = False
        self.raw.setData(self.steps, self.losses)
        self.smooth.setData(self.steps, self.averages)


class PlotsPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.robustness = RobustnessPlot()
        self.accuracy = AccuracyPlot()
        self.loss = LossPlot()
        self.levels = LevelHistogram()
        self.plots = (self.robustness, self.accuracy, self.loss, self.levels)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for i, plot in enumerate(self.plots):
            layout.addWidget(plot.widget, i // 2, i % 2)
        # levels drifting above what the expert recognises, in words (the histogram's title only
        # flags it: a sentence there would widen the window past a 1366-px screen)
        self.drift_note = QLabel(wordWrap=True)
        self.drift_note.setStyleSheet(f"color: {theme.WARN}; font-weight: 600; padding: 2px 6px;")
        self.drift_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.drift_note.hide()
        layout.addWidget(self.drift_note, 2, 0, 1, 2)
        self.on_drift = None  # the window's handler: called with the sentence (or None) when it changes
        self.levels.on_drift = self._drift_changed
        self.redraws = 0  # how many plot redraws happened (tests, benchmark)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw_dirty)
        self.timer.start()

    def reset(self, by_epoch: bool = False) -> None:
        for plot in self.plots:
            plot.clear()
        self.accuracy.set_x_axis(by_epoch)

    def add_metrics(self, metrics: Metrics) -> None:
        self.robustness.add(metrics)
        self.accuracy.add(metrics)

    def add_history(self, history: list[Metrics]) -> None:
        """The evaluations (and epoch losses) a reopened project already holds."""
        for metrics in history:
            self.add_metrics(metrics)
            self.loss.add_epoch(metrics)

    def add_progress(self, progress: Progress) -> None:
        self.loss.add(progress)

    def set_levels(self, snapshot) -> None:
        self.levels.set_snapshot(snapshot)
        self.robustness.set_answers(snapshot.answers, snapshot.grid)

    def _drift_changed(self, sentence: str | None) -> None:
        self.drift_note.setText(f"⚠ {sentence}: the model trains on images you would not recognise." if sentence else "")
        self.drift_note.setVisible(bool(sentence))
        if self.on_drift is not None:
            self.on_drift(sentence)

    def redraw_dirty(self) -> None:
        for plot in self.plots:
            if plot.dirty:
                plot.redraw()
                self.redraws += 1
