"""One program at a time per project: an advisory lock (flock) on DIR/.lock.

The kernel drops the lock when the holder dies, even by SIGKILL, so a crash never leaves a
project locked. Within one process the same folder may be opened more than once (the GUI may
peek at a project it has open); the lock is shared by reference count.
"""

import fcntl
import os
import threading
from pathlib import Path

from app.engine.faults import ProjectLockedError, os_error

_held: dict[str, list] = {}  # resolved path → [file object, count]
_guard = threading.Lock()


def acquire(folder: Path) -> str:
    key = str(folder.resolve())
    with _guard:
        if key in _held:
            _held[key][1] += 1
            return key
        path = folder / ".lock"
        try:
            handle = open(path, "a+")
        except OSError as exc:
            raise os_error(exc, folder, "lock the project") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ProjectLockedError(
                f"project {folder} is open in another AQPL Studio (process {holder}): close it there, then open it again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _held[key] = [handle, 1]
        return key


def release(key: str) -> None:
    with _guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _held[key]
            try:
                fcntl.flock(entry[0].fileno(), fcntl.LOCK_UN)
            finally:
                entry[0].close()
