"""GUI benchmark: event-loop latency while training runs at full speed in the worker thread,
and training throughput with the window open against headless.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py            # or under xvfb-run
    python benchmarks/bench_gui.py --epochs 2 --repeats 2 --json out.json

Latency: a precise QTimer fires every 10 ms in the GUI thread; the lateness of each tick
(actual gap − 10 ms) is what a click or key press would wait. Goals: p99 ≤ 16 ms, max ≤ 50 ms.

Throughput: the same training (AQPL-CAT, continuous mode, embedded dataset) headless and in the
window (worker thread, live plots, level histogram, progress, a query on screen), alternating,
`repeats` times each, after an untimed warm-up; the ratio of the medians, and each GUI run
against the headless run just before it (on a shared machine the load changes from minute to
minute: the pairs saw the same load). Goal ≥ 0.95. `--nice 5,0` runs the window with its
training thread at each nice value (the application uses TRAINING_NICE); the GUI thread's own
CPU time is reported too. Headless runs twice per repeat: in
a plain Python thread (the same threading as the GUI's worker: this ratio is the GUI's cost) and
in the main thread (what the command line does), which PyTorch runs at a different speed when
the CPU is contended. A last run adds a bot answering a query every 300 ms through the query
panel (more rounds, so more pool scoring: its throughput is not comparable, its latency is).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TICK_MS = 10


def settings_overrides(epochs: int) -> dict:
    return dict(method="aqpl-cat", mode="continuous", epochs=epochs, warmup_epochs=1, budget="5%",
                queries_per_round=50, eval_every=1)


def run_headless(dataset, epochs: int, in_thread: bool) -> dict:
    """The command line's way (main thread), or the same loop in a plain Python thread: the
    GUI's worker is a thread too, and PyTorch's speed differs between the two (see README)."""
    import threading

    from app.engine.trainer import Trainer
    from app.gui.prepare import settings_for

    out = {}

    def work():
        trainer = Trainer(settings_for(dataset.family, settings_overrides(epochs)), dataset)
        for _ in trainer.steps():
            pass
        out.update(seconds=trainer.result.seconds, steps=trainer.step)

    if in_thread:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    else:
        work()
    return out


class Probe:
    """Lateness of a 10 ms timer in the GUI thread."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.samples: list[float] = []
        self.recording = False
        self.last = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self):
        now = time.perf_counter()
        if self.recording and self.last is not None:
            self.samples.append(max(0.0, (now - self.last) * 1000 - TICK_MS))
        self.last = now

    @classmethod
    def idle(cls, seconds: float) -> dict:
        """The same probe in an idle window: what the machine itself adds."""
        from PySide6.QtCore import QTimer

        from app.gui.app import application
        from app.gui.main_window import MainWindow
        from app.gui.settings_store import SettingsStore

        app = application()
        window = MainWindow(SettingsStore(Path(tempfile.mkdtemp(prefix="aqpl-bench-gui-")) / "gui.ini"))
        window.show()
        probe = cls()
        probe.recording = True
        QTimer.singleShot(int(seconds * 1000), app.quit)
        app.exec()
        probe.timer.stop()
        window.close()
        return probe.summary()

    def summary(self) -> dict:
        s = sorted(self.samples)
        if not s:
            return {}
        return {"ticks": len(s), "p50_ms": s[len(s) // 2], "p99_ms": s[min(len(s) - 1, int(len(s) * 0.99))], "max_ms": s[-1],
                "over_50_ms": sum(1 for v in s if v > 50)}


def run_gui(dataset, epochs: int, answering: bool, nice: int | None = None) -> dict:
    """One session in the window; `nice`: the training thread's nice value on Linux (None: the
    application's, TRAINING_NICE)."""
    from PySide6.QtCore import QTimer

    import app.gui.worker as worker

    from app.gui.app import application
    from app.gui.main_window import MainWindow
    from app.gui.prepare import SessionRequest
    from app.gui.settings_store import SettingsStore
    from app.gui.watch import WatchBot

    app = application()
    temp = Path(tempfile.mkdtemp(prefix="aqpl-bench-gui-"))
    window = MainWindow(SettingsStore(temp / "gui.ini"), project_root=temp)
    window.confirm = lambda question: True
    window.resize(1440, 900)
    window.show()
    probe = Probe()

    class FixedOracle:  # answers at once; what is measured is the GUI, not an oracle
        name = "bench"

        def answer(self, queries):
            return [0.3 for _ in queries]

    default_nice = worker.TRAINING_NICE
    worker_nice = default_nice if nice is None else nice
    worker.TRAINING_NICE = worker_nice  # read by the worker thread as it starts
    session = window.start_session(SessionRequest(overrides=settings_overrides(epochs), dataset=dataset, load_suite=False))
    bots = []

    def on_ready(prepared):
        probe.recording = True
        if answering:
            bots.append(WatchBot(window.panel, FixedOracle(), think_ms=150, confirm_ms=150, parent=window))

    session.ready.connect(on_ready)
    session.finished.connect(lambda outcome: (setattr(probe, "recording", False), QTimer.singleShot(100, app.quit)))
    gui_cpu = time.thread_time()
    app.exec()
    gui_cpu = time.thread_time() - gui_cpu
    worker.TRAINING_NICE = default_nice
    probe.timer.stop()
    result = session.outcome.result
    out = {"seconds": result.seconds, "steps": session.trainer.step, "answers": result.queries_used,
           "plot_redraws": window.plots.redraws, "gui_thread_cpu_s": gui_cpu, "nice": worker_nice, **probe.summary()}
    window.close()
    window.deleteLater()
    app.processEvents()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="GUI latency and throughput")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nice", default=None,
                        help="comma-separated nice values for the GUI's training thread, each run in every repeat "
                             "(default: the application's, app.gui.worker.TRAINING_NICE)")
    parser.add_argument("--no-main-thread", action="store_true", help="skip the headless run in the main thread")
    parser.add_argument("--no-answering", action="store_true", help="skip the run with a bot answering")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)

    import torch

    from app.engine.data import load_dataset
    from app.gui.worker import TRAINING_NICE

    nices = [int(v) for v in args.nice.split(",")] if args.nice else [TRAINING_NICE]
    dataset = load_dataset("embedded")
    print(f"embedded dataset {len(dataset.train_x)} train images, {args.epochs} epochs, torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs, Qt platform {os.environ.get('QT_QPA_PLATFORM')}, "
          f"load average before {os.getloadavg()[0]:.1f}; GUI training thread at nice {nices}", flush=True)
    warm = time.perf_counter()  # one-time costs (first batches, first evaluation) out of the first timed run
    from app.engine.data.dataset import Dataset

    run_headless(Dataset(name=dataset.name, train_x=dataset.train_x[:600], train_y=dataset.train_y[:600],
                         test_x=dataset.test_x[:200], test_y=dataset.test_y[:200], classes=dataset.classes,
                         source=dataset.source, data_dir=dataset.data_dir), 1, in_thread=True)
    print(f"warm-up (600 images, untimed): {time.perf_counter() - warm:.1f} s", flush=True)
    idle = Probe.idle(5.0)
    print(f"idle window, no training: latency p99 {idle['p99_ms']:.1f} ms, max {idle['max_ms']:.1f} ms", flush=True)
    headless, headless_main = [], []
    gui = {nice: [] for nice in nices}
    for repeat in range(args.repeats):
        if not args.no_main_thread:
            headless_main.append(run_headless(dataset, args.epochs, in_thread=False))
            print(f"headless run {repeat + 1}, main thread: {headless_main[-1]['steps'] / headless_main[-1]['seconds']:.2f} batches/s", flush=True)
        headless.append(run_headless(dataset, args.epochs, in_thread=True))
        print(f"headless run {repeat + 1}, in a thread: {headless[-1]['steps'] / headless[-1]['seconds']:.2f} batches/s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        for nice in nices:
            gui[nice].append(run_gui(dataset, args.epochs, answering=False, nice=nice))
            g = gui[nice][-1]
            print(f"GUI run {repeat + 1}, training at nice {nice}: {g['steps'] / g['seconds']:.2f} batches/s; GUI thread CPU "
                  f"{g['gui_thread_cpu_s']:.1f} s of {g['seconds']:.0f} s; latency p50 {g['p50_ms']:.1f} ms, "
                  f"p99 {g['p99_ms']:.1f} ms, max {g['max_ms']:.1f} ms, {g['over_50_ms']} of {g['ticks']} ticks over 50 ms "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    answering = None
    if not args.no_answering:
        answering = run_gui(dataset, args.epochs, answering=True)
        print(f"GUI with a bot answering: {answering['answers']} answers; latency p50 {answering['p50_ms']:.1f} ms, "
              f"p99 {answering['p99_ms']:.1f} ms, max {answering['max_ms']:.1f} ms", flush=True)

    rate = lambda runs: statistics.median(r["steps"] / r["seconds"] for r in runs)  # noqa: E731
    speed = lambda r: r["steps"] / r["seconds"]  # noqa: E731
    by_nice = {}
    for nice, runs in gui.items():
        # each GUI run against the headless run just before it: the pair saw the same load
        pairs = [speed(g) / speed(h) for g, h in zip(runs, headless)]
        by_nice[nice] = {
            "gui_batches_per_s": rate(runs), "throughput_ratio": rate(runs) / rate(headless),
            "pair_ratios": pairs, "pair_ratio_median": statistics.median(pairs),
            "latency_p50_ms": max(g["p50_ms"] for g in runs), "latency_p99_ms": max(g["p99_ms"] for g in runs),
            "latency_max_ms": max(g["max_ms"] for g in runs),
            "gui_thread_cpu_share": statistics.median(g["gui_thread_cpu_s"] / g["seconds"] for g in runs),
        }
    first = by_nice[nices[0]]
    summary = {
        "headless_batches_per_s": rate(headless), **first, "by_nice": by_nice, "answering": answering,
        "runs": {"headless": headless, "headless_main_thread": headless_main, "gui": gui},
        "idle": idle, "load_average_after": os.getloadavg()[0],
    }
    if headless_main:
        summary["headless_main_thread_batches_per_s"] = rate(headless_main)
    print()
    for nice, numbers in by_nice.items():
        line = (f"training at nice {nice}: throughput GUI / headless in a thread {numbers['throughput_ratio']:.3f} (goal ≥ 0.95; "
                f"run by run {', '.join(f'{r:.2f}' for r in numbers['pair_ratios'])}, median {numbers['pair_ratio_median']:.3f})")
        if headless_main:
            line += f"; GUI / headless in the main thread {numbers['gui_batches_per_s'] / rate(headless_main):.3f}"
        print(line)
        print(f"  event-loop latency while training (worst run): p50 {numbers['latency_p50_ms']:.1f} ms, "
              f"p99 {numbers['latency_p99_ms']:.1f} ms (goal ≤ 16), max {numbers['latency_max_ms']:.1f} ms (goal ≤ 50); "
              f"the GUI thread used {100 * numbers['gui_thread_cpu_share']:.1f} % of a core")
    if answering:
        print(f"with a bot answering through the panel: p99 {answering['p99_ms']:.1f} ms, max {answering['max_ms']:.1f} ms")
    print(f"load average after {summary['load_average_after']:.1f} (other processes on this machine add to the latency)")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
