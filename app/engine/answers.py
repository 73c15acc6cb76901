"""The answer path: how an expert's click (or an oracle's answer) reaches a training batch.
Read this first.

One answer, from the key press to a training batch, through distinct names:

    1. key 0–9 / a click (GUI thread): QueryPanel.keyPressEvent → answer_index → answer_level
    2. the sink: Trainer.submit(Answer) — validate, persist, enqueue (below)
    3. the screen moves on: QueryQueue.give (only after the answer is durable)
    4. before the next batch (training thread): Trainer.apply → QueryBook.record_answered, LevelTable.set_expert
    5. the batch: the level policy reads the example's level from the LevelTable
    An oracle (simulated, replayed) `answer`s a whole round of queries at once and enters at 2.

    QueryPanel (GUI thread) ─┐                      ┌─ validate: is the example waiting for this?
    oracle (training thread) ┼─ sink.submit(msg) ──▶│  (no: AnswerRejected, nothing written)
    recovery (on reopen) ────┘   msg: Answer,       ├─ persist: RunStore → answers.sqlite (durable)
                                      Skip, Undo    └─ enqueue in the trainer's inbox
    training thread, before the next batch: Trainer.apply(msg)  (app/engine/desk.py)
        → QueryBook.record_answered / record_skipped / undo   (what is pending, answered, skipped)
        → LevelTable.set_expert / undo_expert   (the level, its ceiling, and the undo history)

One answer's state lives in four places; one of them is the truth and the others follow it:

* answers.sqlite (a project's `AnswerStore`) is the truth about what the expert said. A message
  is written there before anything else changes, and only after it was validated, so the
  database never holds an answer that training refused.
* `QueryBook` is the training thread's copy: pending / answered / skipped, saved in every
  checkpoint. After a crash `project.recovery.reconcile` brings it up to the database's state.
* `LevelTable.history` is derived from the book: one entry per applied answer, holding what
  the answer replaced, so that an undo restores the level exactly. Only `Trainer.apply` (AnswerDesk.apply) writes it.
* `QueryQueue` (GUI) is the expert's view only: what is on screen and the undo / redo stacks.
  It decides nothing; a reopened project refills it from the book's pending queries.

A sink (`AnswerSink`: the trainer, through its answer desk) may be called from any thread; `submit` returns once the
message is durable, or raises an AQPLError (refused, disk full) and nothing changed.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from app.errors import AQPLError

GRID_TOLERANCE = 1e-6


class ExampleState(StrEnum):
    """Where an example stands with the expert (StrEnum: equal to the stored strings)."""

    UNKNOWN = "unknown"  # never asked (or asked after the checkpoint the book came from)
    PENDING = "pending"
    ANSWERED = "answered"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Answer:
    """The expert picked `level` for the example: the largest level at which it is recognisable."""

    example_id: int
    level: float
    time_taken_s: float = 0.0
    source: str = "expert"  # "expert", or the oracle's name ("simulated", "replay")


@dataclass(frozen=True)
class Skip:
    """The expert passed on the example: it keeps its level and is never asked again."""

    example_id: int
    time_taken_s: float = 0.0
    source: str = "expert"


@dataclass(frozen=True)
class Undo:
    """Take back the example's latest answer or skip: its level is restored, it waits again."""

    example_id: int


Message = Answer | Skip | Undo


@runtime_checkable
class AnswerSink(Protocol):
    """Where the query panel (and an oracle) send what the expert decided: the trainer."""

    def submit(self, message: Message) -> None:
        """Validate, store durably, then hand to training; raises AQPLError when refused."""


class AnswerRejected(AQPLError):
    """A message that does not fit the example's state (answered twice, undo of nothing, ...)."""


def check(message: Message, state: ExampleState, grid: list[float]) -> None:
    """Raise AnswerRejected unless `message` may follow `state` (the state after every message
    submitted so far, applied or not)."""
    example = message.example_id
    if isinstance(message, Undo):
        if state not in (ExampleState.ANSWERED, ExampleState.SKIPPED):
            raise AnswerRejected(f"undo for example {example} refused: it has no answer to take back ({state})")
        return
    if state != ExampleState.PENDING:
        what = "answer" if isinstance(message, Answer) else "skip"
        raise AnswerRejected(f"{what} for example {example} refused: it is not waiting for an answer ({state})")
    if isinstance(message, Answer) and not any(abs(message.level - g) <= GRID_TOLERANCE for g in grid):
        raise AnswerRejected(
            f"answer {message.level} for example {example} refused: it is not one of the candidate levels {grid}"
        )


def state_after(message: Message) -> ExampleState:
    if isinstance(message, Answer):
        return ExampleState.ANSWERED
    if isinstance(message, Skip):
        return ExampleState.SKIPPED
    return ExampleState.PENDING  # an undone answer puts the example back in the queue


def message_for(example_id: int, state: ExampleState, level: float | None) -> Message:
    """The message that brings a pending example to `state` (recovery replays the database)."""
    if state == ExampleState.ANSWERED:
        return Answer(example_id, level, source="recovered")
    if state == ExampleState.SKIPPED:
        return Skip(example_id, source="recovered")
    raise ValueError(f"no message leads to {state}")
