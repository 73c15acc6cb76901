"""The query panel's queue with unlimited undo and redo (plain Python, no Qt).

The trainer keeps its own book (the answer path: app/engine/answers.py); this mirrors what the expert sees: which query is shown, what
waits, and what can be undone. An undone answer goes back to the front of the queue (the
trainer puts it back in its pending queue too) and can be redone until a new answer is given.
"""

import time
from collections import deque
from dataclasses import dataclass

from app.engine.answers import Answer, Message, Skip
from app.engine.events import Query


@dataclass
class GivenAnswer:
    """An answer (or skip) on the panel's undo / redo stacks."""

    query: Query
    level: float | None  # None: skipped
    time_taken_s: float
    source: str = "expert"

    @property
    def skipped(self) -> bool:
        return self.level is None

    def message(self) -> Message:
        """What the trainer is sent for it (app/engine/answers.py)."""
        example = self.query.example_id
        if self.skipped:
            return Skip(example, self.time_taken_s, self.source)
        return Answer(example, float(self.level), self.time_taken_s, self.source)


class QueryQueue:
    """The answer clock (`elapsed`, an answer's time taken) counts from the moment the query
    appeared, less the time it was stopped: `stop_clock` when training is paused (the expert may
    have walked away), `start_clock` when it resumes or the expert acts in the panel again."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.waiting: deque[Query] = deque()
        self.done: list[GivenAnswer] = []  # undo stack, latest last
        self.undone: list[GivenAnswer] = []  # redo stack, latest last
        self._known: set[int] = set()  # ids shown, waiting or answered: never shown twice
        self._running = True  # the answer clock runs (not paused)
        self._shown_at = clock()  # start of the clock's current run
        self._counted = 0.0  # seconds counted before it (runs ended by a pause)

    def __len__(self) -> int:
        return len(self.waiting)

    @property
    def current(self) -> Query | None:
        return self.waiting[0] if self.waiting else None

    @property
    def answered_count(self) -> int:
        """Answers on the undo stack (skips excluded): this session's, and a reopened project's."""
        return sum(1 for a in self.done if not a.skipped)

    def add(self, queries: list[Query]) -> int:
        """Queue queries not seen before; returns how many were added."""
        was_empty = not self.waiting
        added = 0
        for query in queries:
            if query.example_id in self._known:
                continue
            self._known.add(query.example_id)
            self.waiting.append(query)
            added += 1
        if was_empty and added:
            self.mark_shown()
        return added

    def restore(self, done: list[GivenAnswer]) -> None:
        """A reopened project's answers, oldest first: they can be undone like this session's."""
        self.done.extend(done)
        self._known.update(a.query.example_id for a in done)

    def mark_shown(self) -> None:
        """The current query appeared on screen now: its answer time counts from here."""
        self._shown_at, self._counted = self.clock(), 0.0

    def elapsed(self) -> float:
        """Seconds the current query has been on screen with the clock running."""
        return self._counted + (self.clock() - self._shown_at if self._running else 0.0)

    @property
    def clock_running(self) -> bool:
        return self._running

    def stop_clock(self) -> None:
        if self._running:
            self._counted += self.clock() - self._shown_at
            self._running = False

    def start_clock(self) -> None:
        if not self._running:
            self._shown_at, self._running = self.clock(), True

    def give(self, level: float | None, source: str = "expert", time_taken_s: float | None = None) -> GivenAnswer:
        """The expert gives an answer (None: a skip) to the query on screen; the next one shows."""
        if not self.waiting:
            raise IndexError("no query to answer")
        taken = self.elapsed() if time_taken_s is None else time_taken_s
        answer = GivenAnswer(self.waiting.popleft(), level, taken, source)
        self.done.append(answer)
        self.undone.clear()  # a new answer ends the redo history
        self.mark_shown()
        return answer

    def undo(self) -> GivenAnswer | None:
        if not self.done:
            return None
        answer = self.done.pop()
        self.waiting.appendleft(answer.query)
        self.undone.append(answer)
        self.mark_shown()
        return answer

    def redo(self) -> GivenAnswer | None:
        if not self.undone:
            return None
        answer = self.undone.pop()
        example = answer.query.example_id
        self.waiting = deque(q for q in self.waiting if q.example_id != example)
        self.done.append(answer)
        self.mark_shown()
        return answer

    def clear(self) -> None:
        running = self._running
        self.__init__(self.clock)
        if not running:
            self.stop_clock()
