"""The query panel: the queried example at every candidate level, the expert picks one.

The example is shown with one noise pattern scaled to every level of the grid (the paper's
query type); the expert picks the largest level at which it is still recognisable as its class
by click, by its key (0-9 pick candidates 0-9, then A, B, ... the 11th, 12th, ...: the key is in
the badge under each image), or with the arrow keys and Enter. Backspace
undoes (unlimited), Shift+Backspace redoes, S skips. Answers go straight to the sink (an
`AnswerSink`, the trainer: thread-safe, stored durably when a project is open, see
app/engine/answers.py); the panel keeps its own queue.
"""

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox, QCheckBox, QFrame, QHBoxLayout, QLineEdit, QLabel, QPushButton, QStackedLayout, QVBoxLayout, QWidget,
)

from app.engine.data.dataset import to_float
from app.engine.answers import Answer, AnswerSink, Skip, Undo
from app.errors import AQPLError
from app.engine.events import Query
from app.engine.perturb import candidate_images
from app.gui.candidate_tile import CANDIDATE_KEYS, SPACING, CandidateTile, best_layout, candidate_key, tile_size
from app.gui.predictions import PredictionService
from app.gui.qimage import to_qimage
from app.gui.query_queue import GivenAnswer, QueryQueue

# Qt key → candidate index: 0-9, then the letters of CANDIDATE_KEYS (A = the 11th candidate, ...)
GRID_PAD = 4  # above and below the grid of tiles
ANSWER_KEYS = {getattr(Qt.Key, f"Key_{k}"): i for i, k in enumerate(CANDIDATE_KEYS)}


def keys_text(count: int) -> str:
    """The answer keys of `count` candidates, as the subtitle names them: "0–9 or A"."""
    last = candidate_key(min(count, len(CANDIDATE_KEYS)) - 1)
    if count <= 10:
        return f"0–{last}"
    return f"0–9 or {last}" if last == "A" else f"0–9, A–{last}"


class QueryPanel(QFrame):
    query_shown = Signal(object)  # Query now on screen (None: queue empty)
    predictions_toggled = Signal(bool)
    failed = Signal(str)  # an answer the sink refused (e.g. the project's disk is full)
    answers_changed = Signal(int, int)  # (answers used of the budget, budget): at once, on every answer / undo / redo

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("card")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.queue = QueryQueue()
        self.sink: AnswerSink | None = None  # the trainer
        self.dataset = None
        self.budget = 0
        self.answered_before = 0
        self.accepting = False  # answers go to a running trainer
        self.paused = False  # training is paused: the answer clock waits for the expert
        self.cursor = 0
        self.columns = 0
        self.tiles: list[CandidateTile] = []
        self.images = None  # candidates of the current query (L, C, H, W)
        self.shown: Query | None = None
        self.predictor: PredictionService | None = None  # the model's predictions, off the GUI thread
        self._model_state = None  # the latest CPU copy of the weights (None: none yet)
        self._prediction_token = None  # what the tiles' predictions were (or will be) computed for
        self._empty_text = "Start a session: File → New session (Ctrl+N), or open a project (Ctrl+O)."
        self._answers_shown: tuple[int, int] | None = None  # what answers_changed said last
        self._build()
        self._refresh()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 12)
        self.title = QLabel(objectName="title")
        self.title.setWordWrap(True)
        self.subtitle = QLabel(objectName="subtitle")
        outer.addWidget(self.title)
        outer.addWidget(self.subtitle)

        self.stack = QStackedLayout()
        self.empty = QLabel(objectName="empty", alignment=Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.grid_host = _TileHost(self._layout_tiles)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.grid_host)
        outer.addLayout(self.stack, 1)

        buttons = QHBoxLayout()
        self.skip_button = QPushButton("Skip  (S)")
        self.undo_button = QPushButton("Undo  (⌫)")
        self.redo_button = QPushButton("Redo  (Shift+⌫)")
        self.predictions_box = QCheckBox("Show the model's prediction at each level")
        self.predictions_box.setToolTip("Off by default: seeing the model's guess can bias your answer.")
        for widget in (self.skip_button, self.undo_button, self.redo_button, self.predictions_box):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the panel
        self.skip_button.clicked.connect(lambda: (self._expert_acts(), self.skip()))
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.predictions_box.toggled.connect(self._on_predictions_toggled)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.predictions_box)
        outer.addLayout(buttons)
        self.status = QLabel(objectName="hint")
        outer.addWidget(self.status)

    # -- session wiring --------------------------------------------------------------------------
    def attach(self, sink: AnswerSink, dataset, settings, budget: int, answered_before: int = 0,
               undoable: list[GivenAnswer] | None = None) -> None:
        """A session's trainer is ready: answers go to it from now on. `undoable`: a reopened
        project's answers (oldest first), which Undo takes back like this session's."""
        self.queue.clear()
        self.queue.restore(undoable or [])
        self._answers_shown = None
        self.sink, self.dataset = sink, dataset
        # answered_before counts every answer the trainer holds; those on the undo stack are counted there
        self.budget = budget
        self.answered_before = max(0, answered_before - self.queue.answered_count)
        self.accepting = True
        if self.predictor is not None:
            self.predictor.close()
        self.predictor = PredictionService((settings.model, dataset.num_classes, dataset.in_channels, dataset.image_size), self)
        self.predictor.ready.connect(self._on_predictions)
        self.predictor.failed.connect(self.failed)
        self._model_state, self._prediction_token = None, None
        if not settings.uses_queries:
            self._empty_text = f"{settings.method.upper()} asks no questions: watch the plots while it trains."
        else:
            first = max(settings.warmup_epochs, 1)
            self._empty_text = (
                f"No queries yet. The first ones come after the warm-up (epoch {first}); "
                "in continuous mode training goes on while you answer."
            )
        self._show_current()

    def finish(self, message: str) -> None:
        """The session ended: nothing more can be answered."""
        self.accepting = False
        self.sink = None
        if self.predictor is not None:
            self.predictor.close()
            self.predictor = None
        self.queue.clear()
        self._empty_text = message
        self._show_current()

    @property
    def empty_text(self) -> str:
        return self._empty_text

    def set_empty_text(self, text: str) -> None:
        self._empty_text = text
        self._refresh()

    def add_queries(self, queries: list[Query]) -> None:
        had_current = self.queue.current is not None
        if self.queue.add(queries) and not had_current:
            self._show_current()
        else:
            self._refresh()

    # -- answering -------------------------------------------------------------------------------
    def answer_index(self, index: int, source: str = "expert") -> bool:
        query = self.queue.current
        if query is None or not 0 <= index < len(query.grid):
            return False
        return self.answer_level(query.grid[index], source)

    def answer_level(self, level: float | None, source: str = "expert") -> bool:
        """Submit an answer (None: skip) for the query on screen."""
        query = self.queue.current
        if query is None or not self.accepting:
            return False
        taken = self.queue.elapsed()
        try:  # stored durably first: only then does the panel move on
            message = Skip(query.example_id, taken, source) if level is None else Answer(query.example_id, float(level), taken, source)
            self.sink.submit(message)
        except AQPLError as exc:
            self.failed.emit(str(exc))
            return False
        self.queue.give(level, source, taken)
        self._show_current()
        return True

    def _on_tile_clicked(self, index: int) -> None:
        self._expert_acts()
        self.answer_index(index)

    def skip(self) -> bool:
        return self.answer_level(None)

    def undo(self) -> GivenAnswer | None:
        if not self.accepting or not self.queue.done:
            return None
        try:
            self.sink.submit(Undo(self.queue.done[-1].query.example_id))
        except AQPLError as exc:
            self.failed.emit(str(exc))
            return None
        answer = self.queue.undo()
        self._show_current(select=answer.query.grid.index(answer.level) if answer.level in answer.query.grid else None)
        return answer

    def redo(self) -> GivenAnswer | None:
        if not self.accepting or not self.queue.undone:
            return None
        answer = self.queue.undone[-1]
        try:
            self.sink.submit(answer.message())
        except AQPLError as exc:
            self.failed.emit(str(exc))
            return None
        self.queue.redo()
        self._show_current()
        return answer

    def move_cursor(self, delta: int) -> None:
        if self.tiles and self.queue.current is not None:
            self.cursor = min(max(self.cursor + delta, 0), len(self.tiles) - 1)
            self._update_tiles()

    def select_level(self, level: float) -> None:
        """Put the cursor on the candidate nearest `level` (the watch bot shows its choice)."""
        query = self.queue.current
        if query is not None:
            self.cursor = min(range(len(query.grid)), key=lambda i: abs(query.grid[i] - level))
            self._update_tiles()

    def set_paused(self, paused: bool) -> None:
        """Training paused (F6): the answer clock stops, so the pause does not count in the time
        an answer took; it runs again on resume, or as soon as the expert acts in the panel."""
        self.paused = paused
        self.queue.stop_clock() if paused else self.queue.start_clock()

    def _expert_acts(self) -> None:
        """A key or a click in the panel: the expert is here, so the answer clock runs."""
        self.queue.start_clock()

    def handle_key(self, event: QKeyEvent) -> bool:
        """The panel's keys; returns whether the key was one of them."""
        self._expert_acts()
        key, mods = event.key(), event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == Qt.Key.Key_Backspace or (ctrl and key == Qt.Key.Key_Z):
            self.redo() if shift else self.undo()
        elif ctrl and key == Qt.Key.Key_Y:
            self.redo()
        elif ctrl or mods & Qt.KeyboardModifier.AltModifier:
            return False
        elif key in ANSWER_KEYS:
            self.answer_index(ANSWER_KEYS[key])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.answer_index(self.cursor)
        elif key == Qt.Key.Key_Left:
            self.move_cursor(-1)
        elif key == Qt.Key.Key_Right:
            self.move_cursor(1)
        elif key == Qt.Key.Key_Up:
            self.move_cursor(-self._columns())
        elif key == Qt.Key.Key_Down:
            self.move_cursor(self._columns())
        elif key == Qt.Key.Key_S:
            self.skip()
        elif key == Qt.Key.Key_P:
            self.predictions_box.toggle()
        else:
            return False
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.handle_key(event):
            super().keyPressEvent(event)

    # -- predictions -----------------------------------------------------------------------------
    def _on_predictions_toggled(self, on: bool) -> None:
        self.predictions_toggled.emit(on)
        self._update_predictions()

    @property
    def has_model(self) -> bool:
        """Whether the panel holds a copy of the model to predict with."""
        return self._model_state is not None

    def set_model_state(self, state: dict) -> None:
        """A fresh CPU copy of the model from the worker (at the start, after each evaluation)."""
        self._model_state = state
        if self.predictor is not None:
            self.predictor.set_state(state)
        self._prediction_token = None  # the shown predictions are of the older model
        self._update_predictions()

    def _update_predictions(self) -> None:
        """Ask for the predictions of the query on screen (they arrive in _on_predictions); the
        tiles keep no prediction of another query or model meanwhile."""
        show = self.predictions_box.isChecked() and self.images is not None and self.predictor is not None
        if not show:
            self._prediction_token = None
            for tile in self.tiles:
                tile.set_prediction(None)
            return
        token = (id(self.shown), self.shown.example_id if self.shown else None, id(self._model_state))
        if token == self._prediction_token:
            return  # asked already (or shown)
        self._prediction_token = token
        self.predictor.request(token, self.images)

    def _on_predictions(self, token, result) -> None:
        if token != self._prediction_token or self.shown is None or not self.predictions_box.isChecked():
            return  # for a query or a model no longer on screen
        classes, confidence = result
        names = self.dataset.classes
        for tile, cls, p in zip(self.tiles, classes, confidence):
            tile.set_prediction((f"{names[cls]} {p:.0%}", cls == self.shown.label))

    # -- display ---------------------------------------------------------------------------------
    def _columns(self) -> int:
        return self.columns or 1

    def _layout_tiles(self) -> None:
        """As large as the room allows, whole-number scaled, centred."""
        if not self.tiles or self.tiles[0].image is None:
            return
        image = self.tiles[0].image
        room_w, room_h = self.grid_host.width(), self.grid_host.height() - 2 * GRID_PAD
        self.columns, scale = best_layout(len(self.tiles), image.width(), image.height(), room_w, room_h)
        width, height = tile_size(image.width(), image.height(), scale)
        rows = math.ceil(len(self.tiles) / self.columns)
        left = max(0, (room_w - self.columns * width - (self.columns - 1) * SPACING) // 2)
        top = GRID_PAD + max(0, (room_h - rows * height - (rows - 1) * SPACING) // 2)
        for i, tile in enumerate(self.tiles):
            row, column = divmod(i, self.columns)
            tile.setGeometry(left + column * (width + SPACING), top + row * (height + SPACING), width, height)

    def _show_current(self, select: int | None = None) -> None:
        query = self.queue.current
        if query is not self.shown:
            self.shown = query
            self.queue.mark_shown()
            if query is not None:
                self._render(query, select)
            else:
                self.images = None
                self._update_predictions()  # nothing to predict: forget what was asked
            self.query_shown.emit(query)
        self._refresh()
        if query is not None and self.isVisible() and not self.hasFocus():
            focus = self.window().focusWidget()
            if not isinstance(focus, (QLineEdit, QAbstractSpinBox)):  # never take keys from a text field
                self.setFocus()

    def _render(self, query: Query, select: int | None) -> None:
        x = to_float(self.dataset.train_x[query.example_id])
        self.images = candidate_images(x, query.example_id, query.grid, query.noise_seed)
        if len(self.tiles) != len(query.grid):
            for tile in self.tiles:
                tile.deleteLater()
            self.tiles = [CandidateTile(i, self.grid_host) for i in range(len(query.grid))]
            for tile in self.tiles:
                tile.clicked.connect(self._on_tile_clicked)
                tile.show()
        for i, (tile, level) in enumerate(zip(self.tiles, query.grid)):
            tile.set_candidate(to_qimage(self.images[i]), level, candidate_key(i))
        self._layout_tiles()
        current = min(range(len(query.grid)), key=lambda i: abs(query.grid[i] - query.level))
        self.cursor = current if select is None else select
        self._update_tiles()
        self._prediction_token = None  # new images: their predictions are still to come
        self._update_predictions()

    def _update_tiles(self) -> None:
        query = self.queue.current
        if query is None:
            return
        current = min(range(len(query.grid)), key=lambda i: abs(query.grid[i] - query.level))
        for i, tile in enumerate(self.tiles):
            tile.set_state(i == self.cursor, i == current)

    def _refresh(self) -> None:
        query = self.queue.current
        if query is None:
            self.stack.setCurrentWidget(self.empty)
            self.empty.setText(self._empty_text)
            self.title.setText("Query panel")
            self.subtitle.setText("")
        else:
            self.stack.setCurrentWidget(self.grid_host)
            self.title.setText(f"Pick the noisiest image you still recognise as <b>{query.class_name}</b>")
            self.subtitle.setText(
                f"example #{query.example_id} · trains at σ {query.level:g} now · round {query.round}"
                f"  —  click, press {keys_text(len(query.grid))}, or ←/→ and Enter"
            )
        can_answer = self.accepting and query is not None
        self.skip_button.setEnabled(can_answer)
        self.undo_button.setEnabled(self.accepting and bool(self.queue.done))
        self.redo_button.setEnabled(self.accepting and bool(self.queue.undone))
        used = self.answered_before + self.queue.answered_count
        if self.sink is not None and (used, self.budget) != self._answers_shown:
            self._answers_shown = (used, self.budget)
            self.answers_changed.emit(used, self.budget)
        parts = [f"queue {len(self.queue)}"]
        if self.budget:
            parts.append(f"budget {used} / {self.budget} used")
        if self.queue.done:
            last = self.queue.done[-1]
            parts.append(f"last answer {last.time_taken_s:.1f} s")
        self.status.setText("  ·  ".join(parts) if self.sink is not None or self.queue.done else "")


class _TileHost(QWidget):
    """Holds the tiles; lays them out again whenever its size changes."""

    def __init__(self, relayout):
        super().__init__()
        self._relayout = relayout

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()
