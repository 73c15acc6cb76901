"""Unexpected errors: logged with their traceback to a file, shown to the user as one line.

AQPLError messages are already one line that names the problem and the fix; anything else is
a bug, and the user sees its type, its first line and where the details were written.
"""

import datetime
import os
import sys
import traceback
from pathlib import Path

import platformdirs


def log_path() -> Path:
    root = Path(os.environ.get("AQPL_LOG_DIR") or platformdirs.user_log_dir("aqpl-studio"))
    return root / "gui.log"


def log_exception(exc: BaseException, where: str) -> Path:
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"\n--- {datetime.datetime.now().isoformat(timespec='seconds')} {where}\n")
            f.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return path


def user_message(exc: BaseException, where: str) -> str:
    """The line the user sees for an exception."""
    from app.errors import AQPLError

    if isinstance(exc, AQPLError):
        return str(exc)
    path = log_exception(exc, where)
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"unexpected error ({type(exc).__name__}: {first_line}); details in {path}"


def install_excepthook(show) -> None:
    """Exceptions escaping a slot in the GUI thread: `show(one_line)` instead of a traceback
    on the console; the application keeps running."""
    previous = sys.excepthook

    def hook(kind, exc, tb):
        if issubclass(kind, KeyboardInterrupt):
            return previous(kind, exc, tb)
        try:
            show(user_message(exc.with_traceback(tb), "GUI thread"))
        except Exception:
            previous(kind, exc, tb)

    sys.excepthook = hook
