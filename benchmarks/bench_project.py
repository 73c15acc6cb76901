"""Projects benchmark (docs/projects.md → "Measured"): kill trials
and answers lost, time to reopen a project with 10,000 answers, answer commit latency.

    .venv/bin/python benchmarks/bench_project.py [--trials 60] [--seed 0] [--json out.json]
"""

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

from app.engine.data import Dataset  # noqa: E402
from app.engine.events import AnswerRecord, Metrics  # noqa: E402
from app.engine.project import Project  # noqa: E402
from app.engine.settings import defaults_for  # noqa: E402

GRID = [round(0.1 * i, 1) for i in range(11)]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def record(example, level, step=0):
    return AnswerRecord(example_id=example, level=level, grid=GRID, noise_seed=0, time_taken_s=2.0,
                        wall_time=time.time(), round=1 + example // 500, step=step)


def bench_kills(trials: int, seed: int) -> dict:
    from crash_harness import kill_trials

    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        stats = kill_trials(Path(work), trials, seed=seed, log=lambda line: print("  " + line, flush=True))
        stats["seconds"] = time.perf_counter() - started
    stats["kill_phases"] = dict(stats["kill_phases"])
    return stats


def bench_commit_latency(count: int = 3000) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as work:
        with Project.create(Path(work) / "p", defaults_for("gray", device="cpu")) as project:
            for i in range(50):  # warm up
                project.store.record_answer(record(i, 0.3))
            times = []
            for i in range(count):
                started = time.perf_counter()
                project.store.record_answer(record(i, 0.3))
                times.append(time.perf_counter() - started)
                if i % 10 == 0:
                    time.sleep(0.002)  # let the background flusher run between answers, as with a human
            out["project_normal"] = times
        # For comparison: the same insert with synchronous=FULL (an fsync per answer).
        db = sqlite3.connect(Path(work) / "full.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, example_id, level, grid)")
        times = []
        for i in range(min(count, 1000)):
            started = time.perf_counter()
            db.execute("INSERT INTO a (example_id, level, grid) VALUES (?, ?, ?)", (i, 0.3, json.dumps(GRID)))
            times.append(time.perf_counter() - started)
        db.close()
        out["sqlite_full"] = times
    return {
        name: {"n": len(t), "p50_ms": percentile(t, 50) * 1e3, "p99_ms": percentile(t, 99) * 1e3, "max_ms": max(t) * 1e3}
        for name, t in out.items()
    }


def bench_reopen(answers: int = 10_000, train: int = 10_000) -> dict:
    """A project with `answers` answers over `train` examples and a checkpoint of a small CNN
    whose level table holds them; a second copy whose checkpoint predates every answer (the
    worst case: all of them are applied again on reopen)."""
    torch.manual_seed(0)
    dataset = Dataset(name="synthetic", train_x=torch.randint(0, 256, (train, 1, 28, 28), dtype=torch.uint8),
                      train_y=torch.arange(train) % 10, test_x=torch.zeros(100, 1, 28, 28, dtype=torch.uint8),
                      test_y=torch.arange(100) % 10, classes=[str(i) for i in range(10)])
    s = defaults_for("gray", device="cpu", mode="continuous", budget=str(answers), epochs=20)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for case in ("checkpoint holds the answers", "checkpoint predates the answers"):
            path = Path(work) / case.replace(" ", "-")
            with Project.create(path, s) as project:
                trainer = project.make_trainer(dataset)
                if case.startswith("checkpoint predates"):
                    project.store.save_checkpoint(trainer.state_dict())
                for i in range(answers):
                    project.store.record_answer(record(i, GRID[i % 11], step=i))
                if case.startswith("checkpoint holds"):
                    trainer = project.make_trainer(dataset)  # applies them, then the checkpoint keeps them
                    trainer.epoch = 5
                    project.store.save_checkpoint(trainer.state_dict())
                for epoch in range(1, 21):
                    project.store.log_metrics(Metrics(epoch=epoch, step=epoch * 80, answers=epoch * 500, clean=80.0,
                                                      gaussian=None, all=None, curve_levels=GRID,
                                                      curve_accuracy=[80.0] * 11, loss=0.5))
            timings = {}
            started = time.perf_counter()
            project = Project.open(path)
            timings["open"] = time.perf_counter() - started
            rows = project.answers()
            history = project.metrics_history()
            timings["open + answers + metrics history"] = time.perf_counter() - started
            before = time.perf_counter()
            trainer = project.make_trainer(dataset)
            timings["make_trainer (restore + reconcile)"] = time.perf_counter() - before
            timings["total"] = time.perf_counter() - started
            project.close()
            assert len(rows) == answers and len(history) == 20 and len(trainer.book.answered) == answers
            results[case] = timings
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument("--skip-kills", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("AQPL_CACHE_DIR", tempfile.mkdtemp())
    report = {}

    print("answer commit latency (project store, WAL + synchronous=NORMAL + background flusher):")
    report["latency"] = bench_commit_latency()
    for name, row in report["latency"].items():
        print(f"  {name}: n={row['n']}  p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms  max {row['max_ms']:.2f} ms")

    print("reopen a project with 10,000 answers (10,000 training examples, small CNN checkpoint):")
    report["reopen"] = bench_reopen()
    for case, timings in report["reopen"].items():
        print(f"  {case}: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in timings.items()))

    if not args.skip_kills:
        print(f"kill trials ({args.trials}):")
        stats = bench_kills(args.trials, args.seed)
        report["kills"] = {k: v for k, v in stats.items() if k != "problems"}
        report["kills"]["problems"] = stats["problems"]
        print(f"  trials {stats['trials']}, killed mid-run {stats['killed']} ({stats['kill_phases']}), "
              f"projects {stats['projects']}, acknowledged events {stats['acked']}, lost {stats['lost']}, "
              f"problems {len(stats['problems'])}, {stats['seconds']:.0f} s")
        for problem in stats["problems"][:20]:
            print("  PROBLEM", problem)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0 if not report.get("kills", {}).get("problems") else 1


if __name__ == "__main__":
    raise SystemExit(main())
