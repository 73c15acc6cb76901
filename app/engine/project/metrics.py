"""metrics.jsonl: one line per evaluation, appended as it happens (the plots' history).

A line torn by a crash is skipped when reading. A resumed run evaluates the epochs after its
checkpoint again; those lines are logged again and the later copy wins.
"""

import json
import threading
from dataclasses import asdict, fields
from pathlib import Path

from app.engine.events import Metrics
from app.engine.faults import os_error

_FIELDS = {f.name for f in fields(Metrics)}


class MetricsLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, metrics: Metrics) -> None:
        line = json.dumps(asdict(metrics), allow_nan=True) + "\n"
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8") as f:
                    if f.tell() and not self._ends_with_newline():
                        f.write("\n")  # end a line torn by an earlier crash
                    f.write(line)
            except OSError as exc:
                raise os_error(exc, self.path, "save the metrics") from None

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, 2)
            return f.read(1) == b"\n"

    def history(self) -> list[Metrics]:
        if not self.path.is_file():
            return []
        latest: dict[tuple, Metrics] = {}
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    data = json.loads(line)
                    metrics = Metrics(**{k: v for k, v in data.items() if k in _FIELDS})
                except (ValueError, TypeError):
                    continue  # torn or hand-edited line
                key = (metrics.epoch, metrics.step, metrics.final)
                latest.pop(key, None)  # re-insert: keep the order of the latest copy
                latest[key] = metrics
        return sorted(latest.values(), key=lambda m: (m.step, m.final))
