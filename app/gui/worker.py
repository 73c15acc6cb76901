"""The training worker: a QObject moved to a QThread; it emits the TrainingSession's signals.

Everything slow happens here, never in the GUI thread: loading the dataset, preparing the
simulated oracle, building the trainer, training and evaluating. The engine knows nothing of
Qt; `WorkerCallbacks` turns its callbacks into signals.

The controls (`pause`, `resume`, `stop_early`, `cancel`, `request_model_snapshot`) are plain
thread-safe methods called from the GUI thread: the worker's own event loop is busy running
the training loop, so queued slots would never be delivered. They are honoured at the next
batch. Pausing blocks on an Event (no busy loop).
"""

import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from enum import StrEnum

import torch
from PySide6.QtCore import QObject, QThread, Slot

from app.errors import AQPLError, out_of_memory
from app.engine.events import Callbacks
from app.gui.errors import log_exception
from app.gui.prepare import Cancelled, PreparedSession, SessionRequest, prepare_session
from app.gui.suite_loader import SuiteLoader

LEVELS_INTERVAL_S = 0.5  # CAT changes levels every batch: send the table at most this often
# Linux: the training thread (and the PyTorch threads it starts) runs at this nice value, so the
# GUI thread wins the CPU when both want it; the GUI is idle nearly all the time, so on an
# otherwise idle machine training still gets every core (measured: benchmarks/bench_gui.py).
TRAINING_NICE = 5


@dataclass
class Preparing:
    """Progress of a step before training (dataset, reference model, suite)."""

    label: str
    done: int = 0
    total: int = 0  # 0: unknown (busy indicator)


@dataclass
class LevelSnapshot:
    """A copy of the level table, taken in the training thread between batches."""

    level: torch.Tensor
    source: torch.Tensor
    grid: list[float]
    answers: torch.Tensor | None = None  # the expert's answers so far (the robustness plot's reference)
    propagation: str = "none"  # how unanswered levels are predicted from the answers


class RunState(StrEnum):
    """A session's states, in the order they normally happen; the last four are how it ended."""

    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    DONE = "done"
    STOPPED = "stopped"  # early, evaluated
    CANCELLED = "cancelled"
    FAILED = "failed"


ACTIVE = (RunState.PREPARING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING)


@dataclass
class Outcome:
    """How the run ended: done, stopped (early, evaluated), cancelled, failed."""

    status: RunState
    result: object | None = None
    message: str = ""


class WorkerCallbacks(Callbacks):
    """Engine callbacks (training thread) → signals (delivered queued in the GUI thread)."""

    def __init__(self, worker: "TrainingWorker"):
        self.worker = worker

    def on_progress(self, progress) -> None:
        self.worker.signals.progress.emit(progress)

    def on_metrics(self, metrics) -> None:
        self.worker.signals.metrics.emit(metrics)
        # The model the evaluation measured, for the panel's predictions: sent now, whether or not
        # they are shown, so that P shows them at once (a copy of a small model: milliseconds).
        self.worker._emit_model()

    def on_queries(self, queries) -> None:
        self.worker.signals.queries_ready.emit(list(queries))

    def on_levels_changed(self) -> None:
        self.worker._levels_dirty = True

    def on_warning(self, message: str) -> None:
        self.worker.signals.warning.emit(str(message))


class TrainingWorker(QObject):
    """Emits on `signals`, the TrainingSession that declares them: it lives in the GUI thread,
    so every connected slot (and plain function) runs there, queued."""

    def __init__(self, request: SessionRequest, signals: QObject):
        super().__init__()
        self.request = request
        self.signals = signals
        self.outcome: Outcome | None = None
        self.prepared: PreparedSession | None = None
        self.trainer = None
        self.predictions_wanted = False
        self._levels_dirty = True
        self._run_gate = threading.Event()
        self._run_gate.set()
        self._cancel = threading.Event()
        self._stop_early = threading.Event()
        self._snapshot_wanted = threading.Event()
        self.parked = threading.Event()  # set while paused between two batches
        self._suite: SuiteLoader | None = None

    # -- controls: any thread ----------------------------------------------------------------
    def pause(self) -> None:
        self._run_gate.clear()

    def resume(self) -> None:
        if self.trainer is not None:
            self.trainer.pace.touch()  # a pause is not the expert walking away
        self._run_gate.set()

    def cancel(self) -> None:
        """Stop at the next batch without a final evaluation."""
        self._cancel.set()
        self._run_gate.set()

    def stop_early(self) -> None:
        """Finish after the current batch and evaluate; the model is kept."""
        self._stop_early.set()
        if self.trainer is not None:
            self.trainer.stop_early()
        self._run_gate.set()

    def request_model_snapshot(self) -> None:
        self._snapshot_wanted.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- the thread's work ---------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        outcome = Outcome(RunState.FAILED)
        lower_thread_priority()
        route_warnings_to(self)
        try:
            outcome = self._run()
        except Cancelled:
            outcome = Outcome(RunState.CANCELLED)
        except AQPLError as exc:
            outcome = Outcome(RunState.FAILED, message=str(exc))
            self.signals.error.emit(str(exc))
        except MemoryError:
            message = out_of_memory("Batch size in the session settings")
            outcome = Outcome(RunState.FAILED, message=message)
            self.signals.error.emit(message)
        except Exception as exc:
            log = log_exception(exc, "training worker")
            first_line = (str(exc).splitlines() or [""])[0][:200]
            message = f"unexpected error in training: {type(exc).__name__}: {first_line} (details in {log})"
            outcome = Outcome(RunState.FAILED, message=message)
            self.signals.error.emit(message)
        finally:
            route_warnings_to(None)
            self.outcome = outcome
            QThread.currentThread().quit()  # the session hears of it when the thread has ended

    def _run(self) -> Outcome:
        callbacks = WorkerCallbacks(self)
        self.prepared = prepare_session(self.request, callbacks, self._report_preparing, self._cancel.is_set)
        trainer = self.trainer = self.prepared.trainer
        if self._stop_early.is_set():
            trainer.stop_early()
        self.signals.ready.emit(self.prepared)
        if self.prepared.finished is not None:
            # A finished project shows its stored result: evaluating it again would cost minutes
            # and, without the suite that training loads on the way, replace Gaussian and All
            # with "missing" in its results.json.
            self._emit_levels()
            finished = self.prepared.finished
            return Outcome(RunState.STOPPED if finished.stopped_early else RunState.DONE, finished)
        if self.request.load_suite:
            self._suite = SuiteLoader(self.prepared.dataset, self.signals.warning.emit).start()
        self._emit_levels()
        self._emit_model()  # a reopened project's model: its predictions need no wait for an evaluation
        steps = trainer.steps()
        last_levels = time.monotonic()
        try:
            while True:
                if not self._run_gate.is_set():
                    self.parked.set()
                    self._run_gate.wait()
                    self.parked.clear()
                if self._cancel.is_set():
                    return Outcome(RunState.CANCELLED)
                if self._suite is not None and (trainer.step >= trainer.total_steps or self._stop_early.is_set()):
                    self._attach_suite(trainer)
                phase = next(steps, "done")
                if phase == "done":
                    break
                now = time.monotonic()
                if self._levels_dirty or now - last_levels >= LEVELS_INTERVAL_S:
                    self._emit_levels()
                    last_levels = now
                if self._snapshot_wanted.is_set() and self.predictions_wanted:
                    self._emit_model()
        finally:
            steps.close()
        self._emit_levels()
        if self._snapshot_wanted.is_set() and self.predictions_wanted:
            self._emit_model()
        result = trainer.result
        if self.prepared.project is not None and result is not None:
            self.prepared.project.conclude(result, export=False)
        return Outcome(RunState.STOPPED if result is not None and result.stopped_early else RunState.DONE, result)

    def _attach_suite(self, trainer) -> None:
        if not self._suite.ready:
            self.signals.progress.emit(Preparing("waiting for the corruption suite (generated once, then cached)"))
        trainer.suite = self._suite.wait(self._cancel.is_set)
        self._suite = None

    def _report_preparing(self, label: str, done: int, total: int) -> None:
        self.signals.progress.emit(Preparing(label, done, total))

    def _emit_levels(self) -> None:
        self._levels_dirty = False
        table, book = self.trainer.table, self.trainer.book
        answers = torch.tensor(list(book.answered.values()), dtype=torch.float32)
        self.signals.levels_changed.emit(LevelSnapshot(table.level.clone(), table.source.clone(), list(self.trainer.settings.grid),
                                                       answers, self.trainer.settings.propagate))

    def _emit_model(self) -> None:
        """A CPU copy of the weights: the GUI thread never touches the training model."""
        self._snapshot_wanted.clear()
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.trainer.model.state_dict().items()}
        self.signals.model_snapshot.emit(state)


def lower_thread_priority() -> None:
    """Before any PyTorch call in this thread, so that its intra-op threads inherit it."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAINING_NICE)
        except OSError:
            pass  # not allowed here: train at the normal priority


# -- Python warnings raised in a worker thread become its warning signal ------------------------
_routes: dict[int, TrainingWorker] = {}
_original_showwarning = warnings.showwarning


def _showwarning(message, category, filename, lineno, file=None, line=None):
    worker = _routes.get(threading.get_ident())
    if worker is None:
        return _original_showwarning(message, category, filename, lineno, file, line)
    worker.signals.warning.emit(f"{category.__name__}: {message}")


def route_warnings_to(worker: TrainingWorker | None) -> None:
    """Warnings in this thread go to `worker.signals.warning` (None: back to the default)."""
    if worker is None:
        _routes.pop(threading.get_ident(), None)
        return
    _routes[threading.get_ident()] = worker
    warnings.showwarning = _showwarning


__all__ = ["ACTIVE", "LevelSnapshot", "Outcome", "Preparing", "RunState", "TrainingWorker", "route_warnings_to"]
