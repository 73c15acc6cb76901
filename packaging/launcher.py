"""Entry point of the packaged application (PyInstaller bundle `aqpl-studio`).

It only calls the command line's `main` (`app.cli.main:main`, the same as the console script
and `python -m app`): with no arguments the GUI opens (or, without a display, the headless demo
runs); `aqpl-studio --simulate-oracle --dataset embedded --epochs 1` runs headless.

Start-up probe (for the smoke test and benchmarks/bench_bundle.py, off unless set):

    AQPL_STARTUP_PROBE=window   print `AQPL_PROBE first-window <s>` once the main window has
                                painted for the first time and `AQPL_PROBE none-refs-lost <n>`
                                (references to None lost by 4,000 Qt calls: about 0 on a sound
                                binding, 4,000 on PySide6 6.12.0 with Python 3.11), then close it
    AQPL_STARTUP_PROBE=query    print `AQPL_PROBE first-window <s>`, then
                                `AQPL_PROBE first-query <s>` once the query panel shows its first
                                query (watch mode: `--simulate-oracle --gui`), then cancel the
                                training and close the window (exit status 0)
    AQPL_STARTUP_PROBE_TIMEOUT  seconds before the probe gives up (default 600): prints
                                `AQPL_PROBE timeout` and exits with status 3

<s> are seconds since the process started (from /proc where there is one, else since this
module was first executed). The probe wraps `app.gui.app.application()` from outside; the GUI
code has no test hook of its own.
"""

import multiprocessing
import os
import sys
import time

_T0 = time.monotonic()


def _seconds_since_start() -> float:
    """Seconds since this process was created (Linux: /proc; elsewhere since this module ran)."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): starttime, in clock ticks since boot
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _T0


def _say(tag: str) -> None:
    print(f"AQPL_PROBE {tag} {_seconds_since_start():.2f}", flush=True)


def install_startup_probe(mode: str) -> None:
    """Wrap `app.gui.app.application()` so that the QApplication it returns carries the probe."""
    if mode not in ("window", "query"):
        print(f"error: AQPL_STARTUP_PROBE must be `window` or `query`, not {mode!r}", file=sys.stderr)
        raise SystemExit(2)
    timeout_s = float(os.environ.get("AQPL_STARTUP_PROBE_TIMEOUT", "600"))

    import app.gui.app as gui_app
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    class StartupProbe(QObject):
        def __init__(self, qapp: QApplication):
            super().__init__(qapp)
            self.qapp = qapp
            self.window = None
            self.painted = False
            self.done = False
            QTimer.singleShot(int(timeout_s * 1000), self.give_up)

        def eventFilter(self, watched, event) -> bool:
            if (not self.painted and event.type() == QEvent.Type.Paint and isinstance(watched, QMainWindow)):
                self.painted = True
                self.window = watched
                QTimer.singleShot(0, self.first_window)  # after this paint has finished
            return False

        def first_window(self) -> None:
            _say("first-window")
            from app.gui.binding import probe as binding_probe

            # the window's Qt calls must not leak references to None (PySide6 6.12.0 on 3.11 does)
            print(f"AQPL_PROBE none-refs-lost {binding_probe()}", flush=True)
            if mode == "window":
                self.finish()
                return
            panel = self.window.panel
            panel.query_shown.connect(self.on_query)
            if panel.queue.current is not None:
                self.on_query(panel.queue.current)

        def on_query(self, query) -> None:
            if query is None or self.done:
                return
            _say("first-query")
            self.finish()

        def finish(self) -> None:
            self.done = True
            self.window.confirm = lambda question: True  # closing while training: stop it, no dialog
            self.window.close()  # with a session running, it closes once the worker thread has ended
            QTimer.singleShot(120_000, lambda: self.qapp.exit(4))  # should the window refuse to close

        def give_up(self) -> None:
            if not self.done:
                print("AQPL_PROBE timeout", flush=True)
                self.qapp.exit(3)

    original = gui_app.application

    def application() -> QApplication:
        qapp = original()
        if getattr(install_startup_probe, "probe", None) is None:
            install_startup_probe.probe = StartupProbe(qapp)
            qapp.installEventFilter(install_startup_probe.probe)
        return qapp

    gui_app.application = application


def main() -> int:
    multiprocessing.freeze_support()  # a frozen child process (e.g. a DataLoader worker) stops here
    probe = os.environ.get("AQPL_STARTUP_PROBE")
    if probe:
        install_startup_probe(probe)
    from app.cli.main import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
