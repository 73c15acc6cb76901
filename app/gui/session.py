"""One training run as the GUI sees it: the worker, its thread, and the run's state.

Lives in the GUI thread. The worker's signals are re-emitted from here (queued across the
thread boundary), so every widget slot runs in the GUI thread.
"""

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.gui.prepare import PreparedSession, SessionRequest
from app.gui.worker import Outcome, TrainingWorker

# States of a session, in the order they normally happen.
PREPARING, RUNNING, PAUSED, STOPPING, DONE, STOPPED, CANCELLED, FAILED = (
    "preparing", "running", "paused", "stopping", "done", "stopped", "cancelled", "failed",
)
ACTIVE = (PREPARING, RUNNING, PAUSED, STOPPING)


class TrainingSession(QObject):
    state_changed = Signal(str)
    ready = Signal(object)
    progress = Signal(object)
    metrics = Signal(object)
    queries_ready = Signal(object)
    levels_changed = Signal(object)
    model_snapshot = Signal(object)
    warning = Signal(str)
    error = Signal(str)
    finished = Signal(object)  # Outcome, after the thread has ended

    def __init__(self, request: SessionRequest, parent=None):
        super().__init__(parent)
        self.request = request
        self.state = PREPARING
        self.prepared: PreparedSession | None = None
        self.outcome: Outcome | None = None
        self.thread = QThread()
        self.thread.setObjectName("aqpl-training")
        self.worker = TrainingWorker(request)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        queued = Qt.ConnectionType.QueuedConnection
        self.worker.ready.connect(self._on_ready, queued)
        self.worker.progress.connect(self.progress, queued)
        self.worker.metrics.connect(self.metrics, queued)
        self.worker.queries_ready.connect(self.queries_ready, queued)
        self.worker.levels_changed.connect(self.levels_changed, queued)
        self.worker.model_snapshot.connect(self.model_snapshot, queued)
        self.worker.warning.connect(self.warning, queued)
        self.worker.error.connect(self.error, queued)
        self.worker.finished.connect(self._on_worker_finished, queued)
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

    @property
    def project(self):
        return self.prepared.project if self.prepared is not None else None

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the thread has ended (tests, shutdown)."""
        return self.thread.wait(timeout_ms)

    # -- from the worker ----------------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, prepared: PreparedSession) -> None:
        self.prepared = prepared
        if self.state == PREPARING:
            self._set_state(RUNNING)
        self.ready.emit(prepared)

    @Slot(object)
    def _on_worker_finished(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.thread.quit()

    @Slot()
    def _on_thread_finished(self) -> None:
        # The training thread is gone: nobody writes to the project any more.
        self.close_project()
        outcome = self.outcome or Outcome(FAILED)
        self._set_state(outcome.status)
        self.worker.deleteLater()
        self.finished.emit(outcome)

    def close_project(self) -> None:
        if self.prepared is not None and self.prepared.project is not None:
            self.prepared.project.close()

    def _set_state(self, state: str) -> None:
        if state != self.state or state == PREPARING:
            self.state = state
            self.state_changed.emit(state)
