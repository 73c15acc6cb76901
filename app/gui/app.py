"""QApplication setup and the entry point `launch()` (see app/gui/__init__.py)."""

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.gui import theme
from app.gui.binding import check_binding
from app.gui.errors import install_excepthook

APP_NAME = "AQPL Studio"
ORGANISATION = "AQPL Studio"


def application() -> QApplication:
    """The process's QApplication (created once), styled and named."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("aqpl-studio")  # matches packaging/aqpl-studio.desktop
    app.setStyleSheet(theme.STYLE_SHEET)
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def app_icon() -> QIcon | None:
    from app.resources import resources_dir

    for name in ("aqpl-studio.svg", "aqpl-studio-256.png"):
        path = resources_dir() / "icons" / name
        if path.is_file():
            return QIcon(str(path))
    return None


def is_project(path: str) -> bool:
    from app.engine.project.project import MARKER

    return (Path(path) / MARKER).is_file()


def launch(overrides: dict, simulate_oracle: bool = False, project: str | None = None) -> int:
    from app.gui.main_window import MainWindow
    from app.gui.prepare import SessionRequest, gui_default

    app = application()
    check_binding()  # a leaking Qt release aborts the interpreter minutes in: refuse it now
    window = MainWindow()
    install_excepthook(window.show_error)
    window.show()
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if overrides.get("method") == "all":
        overrides.pop("method")  # five trainings are a headless job; the window runs one
    if project and is_project(project):
        QTimer.singleShot(0, lambda: window.open_project(project, {"device": overrides.get("device")}, watch=simulate_oracle))
    elif project:  # like the headless --project: a new folder becomes a new project
        QTimer.singleShot(0, lambda: window.start_session(SessionRequest(overrides=overrides, project=project, watch=simulate_oracle)))
    elif simulate_oracle:
        QTimer.singleShot(0, lambda: window.start_session(SessionRequest(overrides=overrides, watch=True)))
    elif overrides and overrides != {"dataset": gui_default("dataset")}:  # more than the command line's default
        QTimer.singleShot(0, lambda: window.new_session(prefill=overrides))
    quit_on_signals(window)
    return app.exec()


def quit_on_signals(window) -> None:
    """Ctrl+C in the terminal or a SIGTERM closes the window the normal way (training stops at
    the next batch, the project is closed) instead of killing the training thread mid-write.
    Python runs signal handlers only between bytecodes, so a timer wakes the interpreter."""
    def handle(signum, frame):
        window.confirm = lambda question: True
        window.close()

    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handle)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
