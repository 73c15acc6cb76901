"""The bottom line of the main window: progress (epoch, batch, time left), the expert's pace
(answers so far, answers per minute, what remains), the run's state and the active device,
always visible (a GPU that was asked for but not found shows as a warning)."""

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar

from app.engine.events import Phase, Progress
from app.gui.worker import Preparing

PHASES = {Phase.TRAIN: "", Phase.QUERY: "choosing queries", Phase.EVAL: "evaluating", Phase.WAITING: "waiting for your answers"}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shown_epoch(progress: Progress) -> int:
    """The epoch the status line names, numbered as in the plots: the one in progress, or, during
    an evaluation between two epochs, the one it evaluates (the robustness legend's "after epoch
    N"; the engine reports such an evaluation with the next epoch's number)."""
    if progress.phase == Phase.EVAL and not progress.final and progress.batch == progress.batches:
        return max(1, progress.epoch - 1)
    return progress.epoch


def describe_progress(progress: Progress) -> str:
    epoch = shown_epoch(progress)
    if progress.pace == "extending":
        # an expert-paced session past its planned epochs: it ends when the expert does. The
        # epoch is numbered as everywhere else (the plots' "after epoch N"); the extra count follows.
        idle = format_duration(progress.idle_left_s)
        text = f"epoch {epoch} (extra {progress.extra_epochs}) · batch {progress.batch}/{progress.batches}"
        if progress.phase == Phase.EVAL:
            text += " · evaluating"
        return f"{text} · ends after {idle} idle or F8"
    text = f"epoch {epoch}/{progress.epochs} · batch {progress.batch}/{progress.batches}"
    if progress.pace == "finishing":
        text += " · final epochs"
    phase = PHASES.get(progress.phase, progress.phase)
    if phase:
        text += f" · {phase}"
    return f"{text} · {format_duration(progress.eta_s)} left"


def describe_answers(progress: Progress) -> str:
    """Answers so far, their rate and what remains of the budget ("" for runs without queries)."""
    if not progress.budget:
        return ""
    text = f"answers {progress.answers}/{progress.budget}"
    if progress.answers_per_min is not None:
        text += f" · {progress.answers_per_min:.1f}/min"
    left = progress.budget - progress.answers
    return f"{text} · {left} left" if left else f"{text} · budget spent"


class ElidedLabel(QLabel):
    """A label that gives up its width first: a long project path is shortened in the middle
    ("…") instead of widening the window past a small screen (the full text is its tooltip)."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, self.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), shown)


class TrainingStatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = QLabel("idle")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("no training")
        self.device = QLabel("device: —", objectName="device")
        self.answers = QLabel("", objectName="answers")
        self.project = ElidedLabel("")
        self.project.setObjectName("hint")
        self.addWidget(self.state)
        self.addWidget(self.project, 1)
        self.addPermanentWidget(self.answers)
        self.addPermanentWidget(self.bar)
        self.addPermanentWidget(self.device)
        self.device_warning: str | None = None
        self.answers_given: int | None = None  # the query panel's count (None: the engine's)
        self._last_progress: Progress | None = None

    def set_state(self, text: str) -> None:
        self.state.setText(text)

    def _show(self, text: str) -> None:
        """The bar's text, never clipped: the bar widens to the longest text it has shown (so it
        does not jitter as the text changes) and the project path, which elides, gives way."""
        self.bar.setFormat(text)
        self.bar.setToolTip(text)
        needed = self.bar.fontMetrics().horizontalAdvance(text) + 2 * self.bar.fontMetrics().averageCharWidth()
        if needed > self.bar.minimumWidth():
            self.bar.setMinimumWidth(needed)

    def reset_answers(self) -> None:
        """A new session: its answers come from its panel and reports."""
        self.answers_given, self._last_progress = None, None
        self.answers.setText("")

    def set_answers(self, count: int, budget: int) -> None:
        """The answers the query panel holds, shown the moment one is given, undone or redone
        (training applies it at its next batch and reports it a little later: the panel's count
        is the one the expert just saw change)."""
        self.answers_given = count
        base = self._last_progress or Progress(phase="train", epoch=0, epochs=0, batch=0, batches=0, step=0,
                                               total_steps=0, elapsed_s=0.0, eta_s=None)
        self.answers.setText(describe_answers(replace(base, answers=count, budget=budget or base.budget)))

    def set_progress(self, progress) -> None:
        if isinstance(progress, Preparing):
            if progress.total:
                self.bar.setRange(0, progress.total)
                self.bar.setValue(progress.done)
            else:
                self.bar.setRange(0, 0)  # busy
            self._show(progress.label)
            return
        self.bar.setRange(0, max(progress.total_steps, 1))
        self.bar.setValue(progress.step)
        self._show(describe_progress(progress))
        self._last_progress = progress
        if self.answers_given is not None:
            progress = replace(progress, answers=self.answers_given)
        self.answers.setText(describe_answers(progress))

    def set_finished(self, text: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if text.startswith("done") else 0)
        self._show(text)

    def set_device(self, text: str, warning: str | None = None) -> None:
        self.device_warning = warning
        self.device.setText(f"device: {text}" + (" ⚠" if warning else ""))
        self.device.setToolTip(warning or "training runs here")
        self.device.setProperty("warn", "true" if warning else "false")
        self.device.style().unpolish(self.device)
        self.device.style().polish(self.device)
