"""An oracle that answers like a person at a desk (`--oracle-pace SECONDS`): a headless replay of
an expert-paced GUI session.

The trainer is built as for the GUI (no oracle: continuous mode, the expert sets the pace, extra
epochs while answers keep coming); the queries it hands out go into this expert's queue, and a
thread answers the first one every SECONDS of wall time through the trainer's `submit`, the
same path (validation, durable storage, inbox) as a key press in the query panel. With 0 it
answers as soon as a query is there. Tests may pace it in training batches instead of seconds
(`every_batches`): the same session on a machine of any speed.
"""

import threading
import time

from app.engine.events import Callbacks
from app.engine.oracle.base import Oracle, nearest_grid_level


class PacedExpert(Callbacks):
    """Callbacks for the trainer (queries in) that forward everything else to `inner`."""

    def __init__(self, oracle: Oracle, seconds: float, inner: Callbacks, every_batches: int | None = None):
        self.oracle = oracle
        self.seconds = float(seconds)
        self.every_batches = every_batches
        self.inner = inner
        self.trainer = None
        self.answers = 0
        self._queue: list = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="paced-expert", daemon=True)

    # -- the trainer's callbacks ------------------------------------------------------------------
    def on_queries(self, queries) -> None:
        with self._lock:
            self._queue.extend(queries)
            self._lock.notify()
        self.inner.on_queries(queries)

    def on_progress(self, progress) -> None:
        self.inner.on_progress(progress)

    def on_metrics(self, metrics) -> None:
        self.inner.on_metrics(metrics)

    def on_levels_changed(self) -> None:
        self.inner.on_levels_changed()

    def on_warning(self, message: str) -> None:
        self.inner.on_warning(message)

    def __getattr__(self, name):  # close() and whatever else the inner callbacks offer
        return getattr(self.inner, name)

    # -- the desk ----------------------------------------------------------------------------------
    def start(self, trainer) -> None:
        self.trainer = trainer  # a resumed project's open queries arrive through on_queries
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _next(self):
        with self._lock:
            while not self._queue and not self._stop.is_set():
                self._lock.wait(timeout=0.2)
            return None if self._stop.is_set() else self._queue.pop(0)

    def _work(self) -> None:
        from app.engine.answers import AnswerRejected

        while not self._stop.is_set():
            query = self._next()
            if query is None:
                return
            shown, shown_step = time.monotonic(), self.trainer.step
            if self.every_batches:
                while self.trainer.step < shown_step + self.every_batches and self.trainer.result is None:
                    if self._stop.wait(0.01):
                        return
            elif self._stop.wait(self.seconds):  # looking at the candidates
                return
            level = self.oracle.answer([query])[0]
            taken = time.monotonic() - shown
            try:
                if level is None:
                    self.trainer.submit_skip(query.example_id, taken, source=self.oracle.name)
                else:
                    self.trainer.submit_answer(query.example_id, nearest_grid_level(query.grid, level), taken,
                                               source=self.oracle.name)
                    self.answers += 1
            except AnswerRejected:
                continue  # no longer waiting (the run ended its rounds): as a late key press
