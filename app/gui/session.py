"""One training run as the GUI sees it: the worker, its thread, and the run's state.

Lives in the GUI thread and declares the run's signals; the worker emits them from the
training thread, so every connected slot runs queued, in the GUI thread.
"""

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.gui.prepare import PreparedSession, SessionRequest
from app.gui.worker import ACTIVE, Outcome, RunState, TrainingWorker

PREPARING, RUNNING, PAUSED, STOPPING = RunState.PREPARING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING


class TrainingSession(QObject):
    state_changed = Signal(str)  # RunState
    ready = Signal(object)  # PreparedSession: the trainer exists, answers can be submitted
    progress = Signal(object)  # Progress (engine) or Preparing
    metrics = Signal(object)  # Metrics after each evaluation
    queries_ready = Signal(object)  # list[Query] for the query panel
    levels_changed = Signal(object)  # LevelSnapshot
    model_snapshot = Signal(object)  # CPU state dict of the model, for the panel's predictions
    warning = Signal(str)
    error = Signal(str)  # one line for the user; never a traceback
    finished = Signal(object)  # Outcome, after the thread has ended

    def __init__(self, request: SessionRequest, parent=None):
        super().__init__(parent)
        self.request = request
        self.state = PREPARING
        self.prepared: PreparedSession | None = None
        self.outcome: Outcome | None = None
        self.thread = QThread()
        self.thread.setObjectName("aqpl-training")
        self.worker = TrainingWorker(request, signals=self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.ready.connect(self._on_ready, Qt.ConnectionType.QueuedConnection)  # first: before any view hears of it
        self.thread.finished.connect(self._on_thread_finished)

    # -- what the user does ---------------------------------------------------------------------
    def start(self) -> None:
        # Lower than the GUI thread (Windows, macOS; on Linux the worker renices itself).
        self.thread.start(QThread.Priority.LowPriority)
        self._set_state(PREPARING)

    def pause(self) -> None:
        if self.state == RUNNING:
            self.worker.pause()
            self._set_state(PAUSED)

    def resume(self) -> None:
        if self.state == PAUSED:
            self.worker.resume()
            self._set_state(RUNNING)

    def stop_early(self) -> None:
        if self.state in (RUNNING, PAUSED):
            self.worker.stop_early()
            self._set_state(STOPPING)
        elif self.state == PREPARING:
            self.cancel()

    def finish(self) -> bool:
        """Expert-paced sessions: end the extension; the final epochs and evaluation follow."""
        trainer = self.trainer
        if self.state not in (RUNNING, PAUSED) or trainer is None or not trainer.paced:
            return False
        trainer.finish()
        return True

    def cancel(self) -> None:
        if self.active:
            self.worker.cancel()
            self._set_state(STOPPING)

    def set_predictions_wanted(self, wanted: bool) -> None:
        if not self.active:
            return  # the worker is gone (or going)
        self.worker.predictions_wanted = wanted
        if wanted:
            self.worker.request_model_snapshot()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def trainer(self):
        return self.prepared.trainer if self.prepared is not None else None

    # -- from the worker ----------------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, prepared: PreparedSession) -> None:
        self.prepared = prepared
        if self.state == PREPARING:
            self._set_state(RUNNING)

    @Slot()
    def _on_thread_finished(self) -> None:
        # The training thread is gone: nobody writes to the project any more.
        self.close_project()
        self.outcome = outcome = self.worker.outcome or Outcome(RunState.FAILED)
        self._set_state(outcome.status)
        self.worker.deleteLater()
        self.finished.emit(outcome)

    def close_project(self) -> None:
        if self.prepared is not None and self.prepared.project is not None:
            self.prepared.project.close()

    def _set_state(self, state: RunState) -> None:
        if state != self.state or state == PREPARING:
            self.state = state
            self.state_changed.emit(state)
