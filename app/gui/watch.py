"""Watch mode (`python -m app --simulate-oracle --gui`): the simulated oracle answers through the
same query panel a person uses, after a short delay, so a user can watch the method work.

The bot moves the panel's selection to its answer, then answers it a moment later: what it
does looks like what an expert does, and goes through the same code (durable storage, undo
history, time taken). Its answers are recorded with source "simulated".
"""

from PySide6.QtCore import QObject, QTimer

THINK_MS = 350  # from the query appearing to the selection moving
CONFIRM_MS = 250  # from the selection moving to the answer


class WatchBot(QObject):
    def __init__(self, panel, oracle, think_ms: int | None = None, confirm_ms: int | None = None, parent=None):
        super().__init__(parent)
        self.panel = panel
        self.oracle = oracle
        think_ms = THINK_MS if think_ms is None else think_ms
        confirm_ms = CONFIRM_MS if confirm_ms is None else confirm_ms
        self.active = True
        self.answers = 0
        self._query = None
        self._level = None
        self._think = QTimer(self, singleShot=True, interval=think_ms)
        self._think.timeout.connect(self._choose)
        self._confirm = QTimer(self, singleShot=True, interval=confirm_ms)
        self._confirm.timeout.connect(self._answer)
        panel.query_shown.connect(self._on_query)
        self._on_query(panel.queue.current)

    def stop(self) -> None:
        if not self.active:
            return
        self.active = False
        self._think.stop()
        self._confirm.stop()
        self.panel.query_shown.disconnect(self._on_query)

    def _on_query(self, query) -> None:
        self._confirm.stop()
        self._query = query
        if self.active and query is not None:
            self._think.start()

    def _choose(self) -> None:
        query = self.panel.queue.current
        if not self.active or query is None or query is not self._query:
            return
        self._level = self.oracle.answer([query])[0]
        if self._level is not None:
            self.panel.select_level(self._level)
        self._confirm.start()

    def _answer(self) -> None:
        query = self.panel.queue.current
        if not self.active or query is None or query is not self._query:
            return
        if self.panel.answer_level(self._level, source=self.oracle.name):
            self.answers += 1
