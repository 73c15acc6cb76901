"""Screenshots of the real main window and query panel, for the README.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m app.gui.screenshots --out resources/readme

Runs a real watch-mode session on the embedded dataset (the simulated oracle answers through
the query panel), lets it train a few epochs so the plots have history, stops the bot so a
query stays on screen, then saves main_window.png and query_panel.png (the panel with the
model's predictions switched on). Settings and projects go to a temporary folder.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer

MAX_BYTES = 400_000


def save_png(widget, path: Path) -> int:
    """Save a grab of `widget`; fall back to a 256-colour palette when the file is too big."""
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(path), "PNG")
    if path.stat().st_size > MAX_BYTES:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="resources/readme")
    parser.add_argument("--epochs-before", type=int, default=4, help="evaluations to wait for before the shots")
    parser.add_argument("--reference-epochs", type=int, default=3)
    parser.add_argument("--size", default="1440x900")
    args = parser.parse_args(argv)
    out = Path(args.out)

    from app.gui.app import application
    from app.gui.main_window import MainWindow
    from app.gui.prepare import SessionRequest
    from app.gui.settings_store import SettingsStore

    temp = Path(tempfile.mkdtemp(prefix="aqpl-screenshots-"))
    app = application()
    window = MainWindow(SettingsStore(temp / "gui.ini"), project_root=temp / "projects")
    window.confirm = lambda question: True
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    overrides = dict(dataset="embedded", method="aqpl-cat", mode="continuous", epochs=args.epochs_before + 3,
                     budget="5%", queries_per_round=60, warmup_epochs=1, reference_epochs=args.reference_epochs)
    session = window.start_session(SessionRequest(overrides=overrides, project=str(temp / "projects" / "demo"), watch=True))
    state = {"evaluations": 0, "stage": "training", "code": 1}

    def on_metrics(metrics):
        state["evaluations"] += 1
        if state["evaluations"] >= args.epochs_before and state["stage"] == "training":
            state["stage"] = "holding"
            if window.watch_bot is not None:
                window.watch_bot.stop()  # the next query stays on screen
            QTimer.singleShot(200, wait_for_query)

    def wait_for_query():
        if window.panel.queue.current is None:
            QTimer.singleShot(200, wait_for_query)
            return
        window.panel.select_level(window.panel.queue.current.level + 0.2)
        QTimer.singleShot(1500, shoot_window)  # two plot redraws

    def shoot_window():
        size = save_png(window, out / "main_window.png")
        print(f"main_window.png: {size // 1024} KB", file=sys.stderr)
        window.panel.predictions_box.setChecked(True)
        QTimer.singleShot(3000, shoot_panel)

    def shoot_panel():
        size = save_png(window.panel, out / "query_panel.png")
        print(f"query_panel.png: {size // 1024} KB", file=sys.stderr)
        state["code"] = 0
        window.close()  # cancels training, then closes

    session.metrics.connect(on_metrics)
    session.error.connect(lambda message: (print(f"error: {message}", file=sys.stderr), app.exit(2)))
    QTimer.singleShot(15 * 60 * 1000, lambda: app.exit(3))  # never hang a build
    app.exec()
    return state["code"]


if __name__ == "__main__":
    raise SystemExit(main())
