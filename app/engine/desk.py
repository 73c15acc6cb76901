"""The answer desk: receives answers from any thread (validate → store durably → enqueue) and,
on the training thread, drains its inbox and applies each message to the query book and the
level table (app/engine/answers.py describes the whole path).
"""

import queue
import threading
import time

import torch

from app.engine.answers import Answer, ExampleState, Message, Skip, Undo, check, state_after
from app.engine.data.dataset import Dataset
from app.engine.events import AnswerRecord, Callbacks, Query, RunStore
from app.engine.position import Position
from app.engine.query import QueryBook
from app.engine.settings import Settings


class AnswerDesk:
    """The run's AnswerSink. `submit*`, `hand_back` come from any thread; `drain`, `apply`,
    `requeue` and `answers_changed` from the training thread (or recovery, before it starts)."""

    def __init__(self, settings: Settings, dataset: Dataset, policy, table, book: QueryBook, store: RunStore,
                 callbacks: Callbacks, position: Position):
        """`position` gives the round and step an answer is recorded with; `policy` turns an answer
        into the example's training level in `table`."""
        self.settings = settings
        self.train_y, self.classes = dataset.train_y, dataset.classes  # the labels on the CPU
        self.policy, self.table, self.book = policy, table, book
        self.store = store
        self.callbacks = callbacks
        self.position = position
        self.inbox: queue.Queue = queue.Queue()  # (sequence, Message), drained before each batch
        self._lock = threading.Lock()  # submit's check → store → enqueue is one step
        self._in_flight: dict[int, tuple[ExampleState, int]] = {}  # submitted, not applied: (state, sequence)
        self._sequence = 0

    @property
    def noise_seed(self) -> int:
        """The seed of the noise pattern the expert is shown (fixed per run seed)."""
        return self.settings.seed

    # -- any thread ------------------------------------------------------------------------------
    def submit(self, message: Message) -> None:
        """AnswerSink: validate, then store durably, then hand to the training thread. Raises
        AnswerRejected (nothing is written) or the store's AQPLError (disk full, ...)."""
        with self._lock:
            check(message, self._expected_state(message.example_id), self.settings.grid)
            if isinstance(message, Undo):
                self.store.record_undo(message.example_id)
            else:
                self.store.record_answer(self._record(message))
            self._enqueue(message)

    def submit_answer(self, example_id: int, level: float, time_taken_s: float = 0.0, source: str = "expert") -> None:
        self.submit(Answer(int(example_id), float(level), time_taken_s, source))

    def submit_skip(self, example_id: int, time_taken_s: float = 0.0, source: str = "expert") -> None:
        self.submit(Skip(int(example_id), time_taken_s, source))

    def submit_undo(self, example_id: int) -> None:
        self.submit(Undo(int(example_id)))

    def hand_back(self, message: Message) -> None:
        """A message the database already holds (an answer recovered after a crash): to the
        training thread without validating or storing it again."""
        with self._lock:
            self._enqueue(message)

    def _expected_state(self, example: int) -> ExampleState:
        """The example's state once every message submitted so far is applied."""
        in_flight = self._in_flight.get(example)
        return in_flight[0] if in_flight else self.book.state_of(example)[0]

    def _enqueue(self, message: Message) -> None:
        self._sequence += 1
        self._in_flight[message.example_id] = (state_after(message), self._sequence)
        self.inbox.put((self._sequence, message))

    def _record(self, message: Answer | Skip) -> AnswerRecord:
        query = self.book.pending.get(message.example_id)  # None: pending again by an undo in flight
        return AnswerRecord(
            example_id=message.example_id, level=getattr(message, "level", None), grid=list(self.settings.grid),
            noise_seed=self.noise_seed, time_taken_s=message.time_taken_s, wall_time=time.time(),
            round=query.round if query else self.position.round, step=self.position.step, source=message.source,
        )

    # -- the training thread ---------------------------------------------------------------------
    def drain(self, timeout: float | None = None) -> None:
        """Apply every message in the inbox (waiting up to `timeout` seconds for the first)."""
        changed = False
        while True:
            try:
                sequence, message = self.inbox.get(timeout=timeout) if timeout else self.inbox.get_nowait()
            except queue.Empty:
                break
            timeout = None  # wait only for the first message
            changed |= self.apply(message)
            with self._lock:  # applied: the book now says what the in-flight entry said
                if self._in_flight.get(message.example_id, (None, None))[1] == sequence:
                    del self._in_flight[message.example_id]
        if changed:
            self.answers_changed()

    def answers_changed(self) -> None:
        """The answers as a whole changed (given, undone, recovered): policies whose unanswered
        levels follow them update the table."""
        self.policy.on_answers(self.table, torch.tensor(list(self.book.answered.values()), dtype=torch.float32))
        self.callbacks.on_levels_changed()

    def apply(self, message: Message) -> bool:
        """Bring the query book and the level table in line with a durable message (from the
        inbox, or from recovery). Returns whether a level changed."""
        example = message.example_id
        if isinstance(message, Answer):
            if self.book.record_answered(example, message.level) is None:
                self.callbacks.on_warning(f"answer for example {example} ignored: it is not waiting for an answer")
                return False
            level = self.policy.training_level(message.level)  # α·ε* (relative levels; α = 1: the answer)
            self.table.set_expert(example, level, self.position.step, self.policy.expert_cap(level))
            return True
        if isinstance(message, Skip):
            self.book.record_skipped(example)
            return False  # a skip leaves the level as it is
        restored_from_skip = example in self.book.skipped
        if not self.book.undo(example, self.query_for(example)):
            return False
        if not restored_from_skip:
            self.table.undo_expert(example)
        return True

    def requeue(self, example_id: int) -> None:
        """Put an example the book does not hold in the queue (recovery: it was asked after the
        checkpoint the book came from)."""
        self.book.issue([self.query_for(example_id)])

    def query_for(self, example: int) -> Query:
        label = int(self.train_y[example])
        return Query(
            example_id=example, label=label, class_name=self.classes[label],
            level=float(self.table.level[example]), round=self.position.round, utility=0.0,
            noise_seed=self.noise_seed, grid=list(self.settings.grid),
        )
