"""Is the installed Qt binding safe to run the window on? A probe of the reference-count leak
of PySide6 6.12.0 (docs/gui.md, "Known bad Qt releases").

PySide6 / shiboken6 6.12.0 on CPython 3.11 lowers the reference count of `None` by one on
every Qt call that returns nothing (`setObjectName`, `setWindowTitle`, `QPainter.setRenderHint`,
each of the hundreds a repaint makes). When the count reaches zero the interpreter aborts
(`Fatal Python error: none_dealloc`), minutes into a session. From CPython 3.12 on, `None` is
immortal and the same bug is harmless. pyproject.toml excludes the release; this probe catches
it (and any release like it) where the ranges were bypassed: a hand-made venv, a bundle built
from one.
"""

import sys

from app.errors import AQPLError

PROBE_CALLS = 2000
# A sound binding moves None's count by a few either way per thousand calls (garbage collection,
# caches); the leaking one by exactly one per call. Half a call each is far from both.
LEAK_PER_CALL = 0.5


def none_is_immortal() -> bool:
    return sys.version_info >= (3, 12)


def none_refs_lost(calls) -> int:
    """References to None lost while running every function of `calls` PROBE_CALLS times
    (0 where None is immortal)."""
    if none_is_immortal():
        return 0
    before = sys.getrefcount(None)
    for call in calls:
        for _ in range(PROBE_CALLS):
            call()
    return before - sys.getrefcount(None)


def void_calls():
    """Qt calls that return nothing, of the kinds the window makes on every frame."""
    from PySide6.QtCore import QObject
    from PySide6.QtGui import QImage, QPainter

    target = QObject()
    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    calls = [
        lambda: target.setObjectName("probe"),
        lambda: painter.setRenderHint(QPainter.RenderHint.Antialiasing, True),
    ]
    return calls, painter, image  # the image must outlive the painter


def probe() -> int:
    """References to None that PROBE_CALLS Qt calls of each kind lose on this binding."""
    calls, painter, image = void_calls()
    try:
        return none_refs_lost(calls)
    finally:
        painter.end()
        del image


def check_binding() -> None:
    """Refuse to open the window on a binding that leaks references to None (one line, exit 2)."""
    lost = probe()
    if lost > LEAK_PER_CALL * PROBE_CALLS * 2:  # two kinds of call
        import PySide6

        raise AQPLError(
            f"PySide6 {PySide6.__version__} loses a reference to None on every Qt call ({lost} in "
            f"{2 * PROBE_CALLS}) and would crash the window within minutes on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}: pip install 'PySide6-Essentials>=6.6,<6.12' "
            "(or use Python 3.12)"
        )
