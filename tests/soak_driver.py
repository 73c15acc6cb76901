"""A long expert session in one process, for the soak test and benchmarks/bench_soak.py.

    QT_QPA_PLATFORM=offscreen python tests/soak_driver.py --seconds 60 --out soak.json

The real main window, offscreen, runs the GUI's default session on the embedded dataset in watch
mode: the simulated expert answers through the query panel (the same keys-to-database path a
person uses) at `--answer-ms` per answer, while a timer repaints the whole window every
`--frame-ms` (each repaint makes hundreds of Qt calls: the plots, the tiles, the status bar).
Every second it samples what a slow leak shows first: the reference count of None (the PySide6
6.12.0 crash), resident memory, open file handles, threads. It writes them as JSON and exits 0;
an interpreter abort ends it with a signal instead, which is what the soak test looks for.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def resident_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--answer-ms", type=int, default=1000, help="the simulated expert's time per answer")
    parser.add_argument("--frame-ms", type=int, default=10, help="a full repaint of the window this often")
    parser.add_argument("--sample-s", type=float, default=1.0)
    parser.add_argument("--budget", default=None, help="default: enough answers for the whole session")
    parser.add_argument("--eval-every", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import app.gui.watch as watch
    from PySide6.QtCore import QTimer

    from app.gui.app import application
    from app.gui.main_window import MainWindow
    from app.gui.prepare import SessionRequest
    from app.gui.settings_store import SettingsStore

    # the bot chooses after half its time and confirms after the other half
    watch.THINK_MS = max(1, args.answer_ms // 2)
    watch.CONFIRM_MS = max(1, args.answer_ms - watch.THINK_MS)
    budget = args.budget or str(int(args.seconds * 1000 / args.answer_ms) + 50)

    qapp = application()
    root = Path(tempfile.mkdtemp(prefix="aqpl-soak-"))
    os.environ["AQPL_LOG_DIR"] = str(root / "logs")
    window = MainWindow(SettingsStore(root / "gui.ini"), project_root=root / "projects")
    window.confirm = lambda question: True
    window.resize(1366, 768)
    window.show()
    overrides = {"dataset": "embedded", "budget": budget, "eval_every": args.eval_every, "idle_finish_s": 3600.0}
    session = window.start_session(SessionRequest(overrides=overrides, project=str(root / "project"), watch=True, load_suite=False))

    samples = []
    frames = [0]
    started = time.monotonic()

    def frame():
        window.repaint()
        frames[0] += 1

    def sample():
        bot = window.watch_bot
        samples.append({
            "t": round(time.monotonic() - started, 2),
            "none_refs": sys.getrefcount(None),
            "rss_mib": round(resident_mib(), 1),
            "open_files": open_files(),
            "threads": os_threads(),
            "python_threads": threading.active_count(),
            "answers": bot.answers if bot is not None else 0,
            "frames": frames[0],
            "state": str(session.state) if session is not None else "",
        })

    def finish():
        sample()
        window.close()  # stops training the normal way; the event loop ends when the thread has
        QTimer.singleShot(120_000, lambda: qapp.exit(4))

    painter = QTimer()
    painter.timeout.connect(frame)
    painter.start(args.frame_ms)
    sampler = QTimer()
    sampler.timeout.connect(sample)
    sampler.start(int(args.sample_s * 1000))
    QTimer.singleShot(int(args.seconds * 1000), finish)
    qapp.setQuitOnLastWindowClosed(True)
    code = qapp.exec()
    project_answers = None
    from app.engine.project import Project

    if (root / "project").exists():
        with Project.open(root / "project") as project:
            project_answers = len(project.answers())
    Path(args.out).write_text(json.dumps({
        "seconds": args.seconds, "answer_ms": args.answer_ms, "frame_ms": args.frame_ms, "exit": code,
        "frames": frames[0], "answers_in_project": project_answers, "samples": samples,
    }, indent=1))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
