"""Load the corruption suite beside training, so the first batch does not wait for it.

Generating a suite takes half a minute the first time (then it is cached); it is only needed
by the final evaluation (Gaussian and All), so the worker starts training at once and waits
for the suite just before that evaluation. Plain Python thread, no Qt.
"""

import threading


class SuiteLoader:
    def __init__(self, dataset, on_warning, report=None):
        self.dataset = dataset
        self.on_warning = on_warning
        self.report = report
        self.suite = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._load, name="aqpl-suite", daemon=True)

    def start(self) -> "SuiteLoader":
        self._thread.start()
        return self

    def _load(self) -> None:
        try:
            from app.engine.corruptions import load_suite

            self.suite = load_suite(self.dataset, progress=self.report)
        except Exception as exc:  # a missing suite costs the All column, never the run
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            self.on_warning(f"corruption suite unavailable ({first_line}): Gaussian and All are reported as missing")
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, cancelled, poll_s: float = 0.2):
        """The suite (or None) once loaded; returns None early when `cancelled()` turns true."""
        while not self._done.wait(poll_s):
            if cancelled():
                return None
        return self.suite
