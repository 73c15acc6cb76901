"""Expert-paced sessions: in continuous mode with a person answering, the epochs in the settings
are the minimum, and training goes on while the person keeps answering.

The plan of such a run (docs/method.md, "Expert-paced sessions"):

* the cosine learning-rate schedule is planned over the minimum epochs, as in any run;
* at the *hold point* (the start of its last fifth, never before the first query round) the
  schedule stops while the session is extended: extra epochs run at that constant, already
  low learning rate, with answers applied at the next batch;
* the session ends its extension when the expert is idle for `idle_finish_s`, presses *Finish*,
  or the budget is spent (every query answered or skipped); then the *final phase* runs the
  schedule's remaining tail (the last fifth, annealed to zero) and evaluates.

An expert who finishes before the hold point gets exactly the planned cosine run, and every
extended run still ends with the same annealing tail, so the model is never evaluated mid-schedule.
"""

import threading
import time
from collections import deque

RATE_WINDOW_S = 300.0  # answers per minute over the last five minutes


def hold_epoch(epochs: int, warmup_epochs: int) -> int:
    """Epochs completed when the extension may begin: four fifths of the minimum, but not before
    the first round (an extension without queries would have nothing to wait for)."""
    final = max(1, round(0.2 * epochs))
    return min(epochs, max(epochs - final, max(warmup_epochs, 1)))


class ExpertPace:
    """When an expert-paced session stops extending. Thread-safe: `finish` and `touch` come from
    the GUI thread, the rest from the training thread."""

    def __init__(self, idle_s: float, clock=time.monotonic):
        self.idle_s = float(idle_s)
        self.clock = clock
        self._finish = threading.Event()
        self._last_activity = clock()
        self._signature = None
        self._answer_times: deque[float] = deque()
        self._lock = threading.Lock()

    def finish(self) -> None:
        """The expert asked to finish: the extension ends at the next batch."""
        self._finish.set()

    @property
    def finish_requested(self) -> bool:
        return self._finish.is_set()

    def touch(self) -> None:
        """Something the expert did (an answer, a resume after a pause) restarts the idle clock."""
        with self._lock:
            self._last_activity = self.clock()

    def observe(self, answered: int, skipped: int, pending: int) -> None:
        """Called by the trainer after applying its inbox: any change in what was answered or
        skipped is expert activity; the first queries shown start the idle clock."""
        signature = (answered, skipped)
        with self._lock:
            if self._signature is None:
                if pending == 0 and answered == 0 and skipped == 0:
                    self._last_activity = self.clock()  # nothing to answer yet: not idle
                    return
                self._signature = signature
                self._last_activity = self.clock()
                return
            if signature != self._signature:
                now = self.clock()
                if answered > self._signature[0]:
                    self._answer_times.extend([now] * (answered - self._signature[0]))
                self._signature = signature
                self._last_activity = now

    def idle_for(self) -> float:
        with self._lock:
            return self.clock() - self._last_activity

    def answers_per_minute(self) -> float | None:
        with self._lock:
            now = self.clock()
            while self._answer_times and now - self._answer_times[0] > RATE_WINDOW_S:
                self._answer_times.popleft()
            if not self._answer_times:
                return None
            span = max(now - self._answer_times[0], 60.0)  # one quick burst is not 600 per minute
            return 60.0 * len(self._answer_times) / span

    def reason_to_finish(self, budget_spent: bool) -> str | None:
        """Why the extension ends now, or None to keep training."""
        if self.finish_requested:
            return "finish"
        if budget_spent:
            return "budget"
        if self.idle_for() >= self.idle_s:
            return "idle"
        return None
