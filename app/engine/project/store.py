"""The project's RunStore: what the trainer hands over, made durable in the project folder."""

import threading
import time
from pathlib import Path

from app.engine.events import AnswerRecord, Metrics, RunStore
from app.engine.project.answers import AnswerStore
from app.engine.project.checkpoints import write_checkpoint
from app.engine.project.metrics import MetricsLog

CHECKPOINT_FORMAT = 1


class ProjectStore(RunStore):
    def __init__(self, answers: AnswerStore, metrics: MetricsLog, checkpoints: Path):
        self.answers = answers
        self.metrics = metrics
        self.checkpoints = checkpoints
        # Set by Project.make_trainer: which dataset the checkpoints belong to (and its labels,
        # so levels can be exported without loading the dataset again).
        self.dataset_meta: dict | None = None
        # Answers recovered after a crash that an oracle is about to give again (the trainer
        # re-records them): example id → level (None: skip). They are in the database already.
        self._expected: dict[int, float | None] = {}
        self._expected_lock = threading.Lock()

    def expect_again(self, example_id: int, level: float | None) -> None:
        with self._expected_lock:
            self._expected[int(example_id)] = level

    def record_answer(self, record: AnswerRecord) -> None:
        with self._expected_lock:
            if record.example_id in self._expected and self._expected[record.example_id] == record.level:
                del self._expected[record.example_id]
                return  # recorded before the crash; one row per answer
        self.answers.record(record)

    def record_undo(self, example_id: int) -> None:
        self.answers.undo(example_id, time.time())

    def save_checkpoint(self, state: dict) -> None:
        payload = {
            "format": CHECKPOINT_FORMAT,
            "state": state,
            "answers_seen": self.answers.last_id(),  # diagnostics: rows in the database at save time
            "saved_at": time.time(),
            "dataset": self.dataset_meta,
        }
        write_checkpoint(self.checkpoints, int(state["epoch"]), payload)

    def log_metrics(self, metrics: Metrics) -> None:
        self.metrics.append(metrics)
