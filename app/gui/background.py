"""Run one slow, self-contained job (an export) off the GUI thread and hear back in it."""

import threading

from PySide6.QtCore import QObject, Qt, Signal

from app.gui.errors import user_message


class BackgroundJob(QObject):
    done = Signal(object)
    failed = Signal(str)  # one line for the user

    def __init__(self, work, name: str, parent=None):
        super().__init__(parent)
        self.work = work
        self.name = name
        self._relay_done = _Relay()
        self._relay_done.value.connect(self.done, Qt.ConnectionType.QueuedConnection)
        self._relay_done.message.connect(self.failed, Qt.ConnectionType.QueuedConnection)
        self.thread = threading.Thread(target=self._run, name=f"aqpl-{name}", daemon=True)

    def start(self) -> "BackgroundJob":
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self._relay_done.value.emit(self.work())
        except Exception as exc:
            self._relay_done.message.emit(user_message(exc, self.name))


class _Relay(QObject):
    """Emitted from the job's thread; the queued connections above carry it to the GUI thread."""

    value = Signal(object)
    message = Signal(str)
