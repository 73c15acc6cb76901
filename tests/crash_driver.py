"""A training process to kill: trains a project on a tiny slice of the embedded dataset while a
simulated human (a thread, like the GUI's click handler) or the replay oracle answers.

Prints one line per event, flushed, so a test that SIGKILLs this process at a random moment
knows what was acknowledged before the kill:

    READY <epoch> <step>          the project is open and the trainer restored
    ACK answer <id> <level>       submit_answer returned (the answer is durable from here on)
    ACK skip <id> / ACK undo <id>
    WARN <message>                a warning from the trainer or the project
    DONE <clean accuracy>         training finished and the result is saved
    FINISHED                      the project had finished before this run

Used by tests/test_crash*.py and benchmarks/bench_project.py (not by the command line).
    python tests/crash_driver.py --project DIR [--mode continuous] [--oracle human|replay] ...
"""

import argparse
import os
import queue
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from app.engine.data import Dataset, load_dataset  # noqa: E402
from app.engine.events import Callbacks  # noqa: E402
from app.engine.oracle import ReplayOracle  # noqa: E402
from app.engine.oracle.base import nearest_grid_level  # noqa: E402
from app.engine.project import Project  # noqa: E402
from app.engine.settings import defaults_for  # noqa: E402
from tests.helpers import GRID, slice_dataset  # noqa: E402


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def tiny_dataset(train: int, test: int) -> Dataset:
    """The first `train` / `test` images of the embedded dataset (conftest's `tiny` is 300 / 100)."""
    return slice_dataset(load_dataset("embedded"), train, test, name="embedded")


def make_settings(args):
    return defaults_for(
        "gray", epochs=args.epochs, batch_size=64, budget=str(args.budget), warmup_epochs=1, device="cpu",
        eval_subset=args.test, mode=args.mode, method=args.method, seed=args.seed, queries_per_round=args.per_round,
    )


def human_level(levels: torch.Tensor, example: int) -> float:
    return nearest_grid_level(GRID, float(levels[example]))


class Human(threading.Thread):
    """Answers queries as the GUI would: from another thread, one click at a time. Skips some
    examples, and sometimes undoes an answer and gives another one."""

    def __init__(self, levels: torch.Tensor, seed: int, delay: float):
        super().__init__(daemon=True)
        self.levels = levels
        self.rng = random.Random(seed * 7919 + os.getpid())
        self.delay = delay
        self.inbox: queue.Queue = queue.Queue()
        self.trainer = None

    def run(self) -> None:
        while (query := self.inbox.get()) is not None:
            time.sleep(self.rng.uniform(0, self.delay))
            example = query.example_id
            started = time.perf_counter()
            if example % 13 == 0:
                self.trainer.submit_skip(example, time_taken_s=time.perf_counter() - started)
                say(f"ACK skip {example}")
                continue
            level = human_level(self.levels, example)
            self.trainer.submit_answer(example, level, time_taken_s=time.perf_counter() - started)
            say(f"ACK answer {example} {level!r}")
            if self.rng.random() < 0.15:
                self.trainer.submit_undo(example)
                say(f"ACK undo {example}")
                other = GRID[(GRID.index(level) + 1) % len(GRID)]
                self.trainer.submit_answer(example, other, time_taken_s=time.perf_counter() - started)
                say(f"ACK answer {example} {other!r}")


class Events(Callbacks):
    def __init__(self, human: Human | None):
        self.human = human

    def on_queries(self, queries) -> None:
        if self.human is not None:
            for query in queries:
                self.human.inbox.put(query)

    def on_warning(self, message: str) -> None:
        say(f"WARN {message}")


def die_after(count: int, function):
    """Wrap `function` so that the process kills itself (SIGKILL, no clean-up) right after the
    `count`-th call returns: a crash at an exact point, for the windows random kills rarely hit."""
    calls = [0]

    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        calls[0] += 1
        if calls[0] == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--mode", default="synchronous", choices=["synchronous", "continuous"])
    parser.add_argument("--oracle", default="human", choices=["human", "replay"])
    parser.add_argument("--levels", required=True, help="a .pt levels file: the human's (or the replay's) answers")
    parser.add_argument("--method", default="aqpl-cat")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--budget", type=int, default=90)
    parser.add_argument("--per-round", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.02, help="the human's longest pause before an answer (s)")
    parser.add_argument("--die-after-records", type=int, default=0, help="SIGKILL self after this many stored answers")
    parser.add_argument("--die-after-checkpoint", type=int, default=0, help="SIGKILL self after this many checkpoints")
    parser.add_argument("--dump", help="after training, torch.save the level table, the book and the result here")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # the same arithmetic in every process: resumed runs are bit-identical
    dataset = tiny_dataset(args.train, args.test)
    levels = torch.load(args.levels)["levels"]
    project = Project.open_or_create(args.project, make_settings(args))
    if project.is_finished():
        say("FINISHED")
        return 0
    if args.die_after_records:
        project.store.answers.record = die_after(args.die_after_records, project.store.answers.record)
    if args.die_after_checkpoint:
        project.store.save_checkpoint = die_after(args.die_after_checkpoint, project.store.save_checkpoint)

    human = Human(levels, args.seed, args.delay) if args.oracle == "human" else None
    oracle = ReplayOracle(args.levels) if args.oracle == "replay" else None
    trainer = project.make_trainer(dataset, oracle=oracle, callbacks=Events(human))
    if human is not None:
        human.trainer = trainer
        human.start()
    say(f"READY {trainer.epoch} {trainer.step}")
    for _ in trainer.steps():
        pass
    if human is not None:
        human.inbox.put(None)
        human.join()
    project.save_result(trainer.result)
    if args.dump:
        torch.save({
            "table": trainer.table.state_dict(), "book": trainer.book.state_dict(),
            "clean": trainer.result.clean, "curve": trainer.result.curve_accuracy,
        }, args.dump)
    project.close()
    say(f"DONE {trainer.result.clean}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
