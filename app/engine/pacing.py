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

`ExpertPace` is the clock of the expert's activity; `PacedSession` is the run's side of it: when
an epoch extends the session, the model at the hold point, and why the extension ended.
"""

import copy
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
        """Called by the PacedSession after the inbox was applied: any change in what was answered or
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


class PacedSession:
    """The extension of an expert-paced run, epoch by epoch (training thread; `pace.finish` and
    `pace.touch` may come from the GUI thread). Not paced (`paced` False): never extends."""

    def __init__(self, settings, paced: bool, book, model, optimizer, scheduler, drain):
        """`book` is the query book the expert's activity is read from; `model`, `optimizer` and
        `scheduler` are snapshot at the hold point; `drain()` applies the answers given so far."""
        self.settings = settings
        self.paced = paced
        self.book = book
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.drain = drain
        self.pace = ExpertPace(settings.idle_finish_s)
        self.hold_epoch = hold_epoch(settings.epochs, settings.warmup_epochs)
        self.extra_epochs = 0  # epochs added while the expert answered
        self.finishing: str | None = None  # why the extension ended: "finish", "budget", "idle"
        self.holding = False  # the learning rate is held (extension epochs)
        self.hold_state: dict | None = None  # the model at the hold point, while the session is extended

    @property
    def planned_epochs(self) -> int:
        return self.settings.epochs + self.extra_epochs

    def extend(self, epoch: int) -> bool:
        """At the hold point of an expert-paced run (`epoch`: epochs completed): one more epoch at
        the held learning rate, unless the expert is done (then the final phase follows the
        planned schedule). Returns whether the epoch about to start is an added one."""
        if not self.paced or self.finishing or epoch - self.extra_epochs != self.hold_epoch:
            return False
        self.drain()
        self.observe()
        reason = self.reason_to_finish()
        if reason:
            self.finishing = reason
            if self.hold_state is not None:
                self._restore_hold()
            return False
        if self.hold_state is None:
            self.hold_state = self._snapshot()
        self.extra_epochs += 1
        return True

    def extension_over(self) -> bool:
        """Before each batch: note the expert's activity; True when an extension epoch ends here."""
        if not self.paced:
            return False
        self.observe()
        return self.holding and bool(self.reason_to_finish())

    def observe(self) -> None:
        self.pace.observe(self.book.used, len(self.book.skipped), len(self.book.pending))

    def reason_to_finish(self) -> str | None:
        spent = self.book.room() == 0 and not self.book.pending
        return self.pace.reason_to_finish(spent)

    def _snapshot(self) -> dict:
        """The planned run's model at the hold point (weights, BatchNorm statistics, optimiser,
        schedule): what the final phase starts from, whatever the extension did."""
        return copy.deepcopy({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                              "scheduler": self.scheduler.state_dict()})

    def _restore_hold(self) -> None:
        """The extension is over: the final phase continues the planned run from the hold point,
        with every answer given meanwhile in the level table. The extension's epochs kept the
        model current for choosing queries; they never reach the final model, so answering longer
        can add answers but cannot undo what the planned epochs learned (a long extension at low
        levels, or CAT raising unanswered levels, had cost up to 12 points of clean accuracy)."""
        state, self.hold_state = self.hold_state, None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])

    def progress(self) -> dict:
        """The pace fields of a Progress report."""
        pace, idle_left = "", None
        if self.paced and (self.extra_epochs or self.finishing):
            pace = "finishing" if self.finishing or not self.holding else "extending"
            if pace == "extending":
                idle_left = max(0.0, self.pace.idle_s - self.pace.idle_for())
        return {"pace": pace, "extra_epochs": self.extra_epochs, "idle_left_s": idle_left,
                "answers_per_min": self.pace.answers_per_minute() if self.paced else None}
