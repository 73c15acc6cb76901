"""Kill trials: start tests/crash_driver.py, SIGKILL it at a random moment, check that every
answer it acknowledged is in the project, repeat; then let each project finish and check that
the reopened project holds exactly what the database says. Shared by tests/test_crash.py and
benchmarks/bench_project.py."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "crash_driver.py"
sys.path.insert(0, str(HERE.parent))

from app.engine.levels import Source  # noqa: E402
from app.engine.project import Project  # noqa: E402
from tests.helpers import Warnings  # noqa: E402


def write_levels(path: Path, size: int = 600, seed: int = 1) -> Path:
    """The answers the simulated human (or the replay oracle) gives: one grid level per example."""
    grid = torch.tensor([round(0.1 * i, 1) for i in range(11)])
    generator = torch.Generator().manual_seed(seed)
    torch.save({"levels": grid[torch.randint(0, len(grid), (size,), generator=generator)]}, path)
    return path


class DriverRun:
    """One driver process; its stdout lines are collected by a thread as they come."""

    def __init__(self, args: list[str], env: dict | None = None):
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(DRIVER), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(("READY", "FINISHED")):
                self.ready.set()
        self.ready.set()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)

    def wait(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout=10)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Acks:
    """Everything the driver acknowledged, across all runs on one project."""

    answers: Counter = field(default_factory=Counter)  # (example, level) → times
    skips: Counter = field(default_factory=Counter)
    undos: Counter = field(default_factory=Counter)

    def add(self, lines: list[str]) -> None:
        for line in lines:
            parts = line.split()
            if len(parts) < 3 or parts[0] != "ACK":
                continue
            if parts[1] == "answer" and len(parts) == 4:
                self.answers[(int(parts[2]), float(parts[3]))] += 1
            elif parts[1] == "skip":
                self.skips[int(parts[2])] += 1
            elif parts[1] == "undo":
                self.undos[int(parts[2])] += 1

    @property
    def total(self) -> int:
        return sum(self.answers.values()) + sum(self.skips.values()) + sum(self.undos.values())


def lost_answers(project_dir: Path, acks: Acks) -> list[str]:
    """Open the project as a user would and list every acknowledged event it does not hold."""
    with Project.open(project_dir) as project:
        rows = project.answers(include_undone=True)
    stored = Counter((r["example_id"], r["level"]) for r in rows if r["level"] is not None)
    skips = Counter(r["example_id"] for r in rows if r["level"] is None)
    undone = Counter(r["example_id"] for r in rows if r["undone"])
    lost = [f"answer {e} {l}" for (e, l), n in acks.answers.items() if stored[(e, l)] < n]
    lost += [f"skip {e}" for e, n in acks.skips.items() if skips[e] < n]
    lost += [f"undo {e}" for e, n in acks.undos.items() if undone[e] < n]
    live = Counter(r["example_id"] for r in rows if not r["undone"])
    lost += [f"example {e} answered {n} times without undo" for e, n in live.items() if n > 1]
    return lost


def mismatches_after_reopen(project_dir: Path, dataset) -> list[str]:
    """Reopen a project and compare the restored trainer (query book and level table) with the
    database: what a user reopening the project would find wrong."""
    problems = []
    with Project.open(project_dir) as project:
        trainer = project.make_trainer(dataset, callbacks=Warnings())
        status = project.store.answers.status()
        answered = 0
        for example, (kind, level, _) in status.items():
            if kind == "answered":
                answered += 1
                if trainer.book.answered.get(example) != level:
                    problems.append(f"example {example}: book has {trainer.book.answered.get(example)}, database {level}")
                if abs(float(trainer.table.level[example]) - level) > 1e-6 or trainer.table.source[example] != Source.EXPERT:
                    problems.append(f"example {example}: level table has {float(trainer.table.level[example])}, database {level}")
            elif kind == "skipped" and example not in trainer.book.skipped:
                problems.append(f"example {example}: skipped in the database, not in the book")
            elif kind == "pending" and example not in trainer.book.pending:
                problems.append(f"example {example}: undone in the database, not back in the queue")
        experts = int((trainer.table.source == Source.EXPERT).sum())
        if experts != answered:
            problems.append(f"{experts} expert levels in the table, {answered} live answers in the database")
        if not project.is_finished():
            problems.append("no result saved")
    return problems


def kill_trials(workdir: Path, trials: int, seed: int = 0, log=print, max_after_ready: float = 4.0, epochs: int = 5) -> dict:
    """Run `trials` killed driver runs over a sequence of projects (alternating continuous and
    synchronous mode); a project that finishes is checked and replaced by a new one, and the
    projects still open at the end are run to completion and checked."""
    from crash_driver import tiny_dataset

    rng = random.Random(seed)
    levels = write_levels(workdir / "levels.pt")
    dataset = tiny_dataset(600, 200)
    modes = ["continuous", "synchronous"]
    projects: list[tuple[Path, str, Acks]] = []
    verified: set[Path] = set()
    stats = {"trials": 0, "killed": 0, "acked": 0, "lost": 0, "problems": [], "projects": 0, "kill_phases": Counter()}

    def args(path: Path, mode: str) -> list[str]:
        return ["--project", str(path), "--levels", str(levels), "--mode", mode, "--epochs", str(epochs)]

    def verify(path: Path, acks: Acks) -> None:
        lost = lost_answers(path, acks)
        stats["lost"] += len(lost)
        stats["problems"] += [f"{path.name}: lost {x}" for x in lost]
        stats["problems"] += [f"{path.name}: {x}" for x in mismatches_after_reopen(path, dataset)]
        verified.add(path)

    def new_project() -> None:
        mode = modes[len(projects) % 2]
        projects.append((workdir / f"project-{len(projects)}-{mode}", mode, Acks()))

    new_project()
    for trial in range(trials):
        path, mode, acks = projects[-1]
        run = DriverRun(args(path, mode))
        if rng.random() < 0.2:  # sometimes during start-up: creating, opening, restoring
            delay, phase = rng.uniform(0.2, 3.0), "start-up"
            run.ready.wait(delay)
            time.sleep(max(0.0, delay - (time.monotonic() - run.started)))
            if run.ready.is_set():
                phase = "training"
        else:
            run.ready.wait(120)
            delay, phase = rng.uniform(0.05, max_after_ready), "training"
            time.sleep(delay)
        killed = run.process.poll() is None
        run.kill()
        code = run.wait()
        acks.add(run.lines)
        stats["trials"] += 1
        stats["killed"] += killed
        stats["kill_phases"][phase if killed else "finished before the kill"] += 1
        if code not in (0, -signal.SIGKILL):
            stats["problems"].append(f"{path.name}: driver exited with {code}: {run.output()[-2000:]}")
        if path.exists():
            lost = lost_answers(path, acks)
            stats["lost"] += len(lost)
            stats["problems"] += [f"{path.name} trial {trial + 1}: lost {x}" for x in lost]
        log(f"trial {trial + 1}/{trials}: {path.name}, {'killed' if killed else 'ran to the end'} "
            f"({phase}, {delay:.2f} s), {acks.total} acknowledged so far")
        if any(line.startswith(("DONE", "FINISHED")) for line in run.lines):
            verify(path, acks)
            new_project()
    for path, mode, acks in projects:
        if path not in verified:
            run = DriverRun(args(path, mode))
            code = run.wait()
            acks.add(run.lines)
            if code != 0:
                stats["problems"].append(f"{path.name}: finishing run exited with {code}: {run.output()[-2000:]}")
                continue
            verify(path, acks)
    stats["acked"] = sum(acks.total for _, _, acks in projects)
    stats["projects"] = len(projects)
    return stats
