"""The answers database (answers.sqlite): every answer, skip and undo the moment it is given.

SQLite in WAL mode with synchronous=NORMAL. Each answer is its own transaction: when
`record()` returns, the row is in the write-ahead log in the operating system's hands, so a
crash or kill of the program (the threat this file guards against) cannot lose it. FULL would
also fsync every commit (guarding against power loss) but costs 4-8 ms per answer on the
virtual disks we measured (p99 over the 5 ms goal); instead a background flusher runs a passive
WAL checkpoint, which fsyncs the log, at most FLUSH_DELAY_S after the last answer, so a power
cut loses at most the last second of answers. See docs/projects.md →
"Durability".
"""

import json
import sqlite3
import threading
from pathlib import Path

from app.engine.answers_db import BUSY_TIMEOUT_S, COLUMNS, SCHEMA, SCHEMA_VERSION, fold_status
from app.engine.events import AnswerRecord
from app.engine.faults import ProjectError, sqlite_error

FLUSH_DELAY_S = 1.0


def _connect(path: Path, doing: str) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        db.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path, doing) from None
    if str(mode).lower() != "wal":
        db.close()
        raise ProjectError(f"{path} cannot use write-ahead logging (journal mode {mode}): keep projects on a local disk")
    return db


class AnswerStore:
    """Thread-safe: the GUI thread (the expert's clicks) and the training thread (oracle answers)
    both write through one connection guarded by a lock."""

    def __init__(self, path: Path, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ProjectError(f"{self.path} is missing: the project's answers are gone; restore the file from a backup")
        self._lock = threading.Lock()
        self._db = _connect(self.path, "open the answers database")
        try:
            if create:
                self._db.executescript(SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            self._db.close()
            raise sqlite_error(exc, self.path, "read the answers database") from None
        if version > SCHEMA_VERSION:
            self._db.close()
            raise ProjectError(
                f"{self.path} was written by a newer AQPL Studio (answers format {version}, this one reads "
                f"{SCHEMA_VERSION}): update AQPL Studio to open this project"
            )
        if "answers" not in tables:
            self._db.close()
            raise ProjectError(f"{self.path} holds no answers table: it is not an AQPL answers database")
        self._flusher = _Flusher(self.path)

    # -- writes (each one durable when it returns) ----------------------------------------
    def record(self, record: AnswerRecord) -> int:
        values = (
            int(record.example_id), None if record.level is None else float(record.level),
            json.dumps([float(g) for g in record.grid]), int(record.noise_seed), float(record.time_taken_s),
            float(record.wall_time), int(record.round), int(record.step), str(record.source),
        )
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO answers (example_id, level, grid, noise_seed, time_taken_s, wall_time, round, step, source)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values,
                )
            except sqlite3.Error as exc:
                raise self._error(exc, f"save the answer for example {record.example_id}") from None
        self._flusher.poke()
        return cursor.lastrowid

    def undo(self, example_id: int, wall_time: float) -> int | None:
        """Mark the latest answer (or skip) of the example that is not undone yet as undone."""
        with self._lock:
            try:
                row = self._db.execute(
                    "UPDATE answers SET undone = 1, undone_wall_time = ? WHERE id = "
                    "(SELECT max(id) FROM answers WHERE example_id = ? AND undone = 0) RETURNING id",
                    (float(wall_time), int(example_id)),
                ).fetchone()
            except sqlite3.Error as exc:
                raise self._error(exc, f"save the undo for example {example_id}") from None
        self._flusher.poke()
        return row[0] if row else None

    # -- reads ----------------------------------------------------------------------------------
    def rows(self, include_undone: bool = False) -> list[dict]:
        where = "" if include_undone else " WHERE undone = 0"
        with self._lock:
            try:
                raw = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM answers{where} ORDER BY id").fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "read the answers") from None
        rows = []
        for values in raw:
            row = dict(zip(COLUMNS, values))
            row["grid"] = json.loads(row["grid"])
            row["undone"] = bool(row["undone"])
            rows.append(row)
        return rows

    def last_id(self) -> int:
        with self._lock:
            try:
                return self._db.execute("SELECT coalesce(max(id), 0) FROM answers").fetchone()[0]
            except sqlite3.Error as exc:
                raise self._error(exc, "read the answers") from None

    def status(self) -> dict[int, tuple[str, float | None, int]]:
        """What the expert's answers say about every example ever asked: (kind, level, round)
        with kind "answered", "skipped", or "pending" when every answer was undone (an undone
        answer puts the example back in the queue)."""
        with self._lock:
            try:
                raw = self._db.execute("SELECT example_id, level, undone, round FROM answers ORDER BY id").fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, "read the answers") from None
        return fold_status(raw)

    def _error(self, exc: sqlite3.Error, doing: str) -> ProjectError:
        if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
            return ProjectError(f"{self.path.parent} was closed, could not {doing}: open the project again")
        return sqlite_error(exc, self.path, doing)

    def close(self) -> None:
        self._flusher.close()
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass


class _Flusher:
    """Fsyncs the write-ahead log (a passive checkpoint) shortly after answers arrive, on its own
    connection and thread so that an answer never waits for the disk."""

    def __init__(self, path: Path):
        self.path = path
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="aqpl-answers-flusher", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        db = None
        while not self._closing:
            self._wake.wait()
            if self._closing:
                break
            self._wake.clear()
            # Batch the answers of the next second into one fsync.
            self._stop.wait(FLUSH_DELAY_S)
            try:
                db = db or sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # best effort: the answer itself is already committed
        if db is not None:
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            db.close()

    def close(self) -> None:
        self._closing = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=FLUSH_DELAY_S + BUSY_TIMEOUT_S + 1)
