"""The on-disk cache (reference models, conform levels, generated suites).

Default: the platform's user cache folder; `AQPL_CACHE_DIR` overrides it (tests, shared servers).
"""

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import torch

from app.engine.atomic import replace_atomically
from app.errors import AQPLError


def cache_dir(*parts: str) -> Path:
    given = os.environ.get("AQPL_CACHE_DIR")
    root = Path(given or platformdirs.user_cache_dir("aqpl-studio"))
    return make_cache_folder(root.joinpath(*parts))


def make_cache_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only home, a cache on a full or missing disk
        raise AQPLError(
            f"cannot create the cache folder {path} ({exc.strerror or exc}): set AQPL_CACHE_DIR to a "
            "writable folder, e.g. AQPL_CACHE_DIR=/tmp/aqpl-cache"
        ) from None
    return path


def fingerprint(*items, length: int = 16) -> str:
    """A short stable key: tensors by content, everything else by repr."""
    digest = hashlib.sha1()
    for item in items:
        if torch.is_tensor(item):
            digest.update(str((item.dtype, tuple(item.shape))).encode())
            digest.update(item.contiguous().cpu().numpy().tobytes())
        else:
            digest.update(repr(item).encode())
    return digest.hexdigest()[:length]


def load_entry(path: Path, key: str):
    """`torch.load(path)[key]`, or None when the entry is absent; a broken file is removed (it is rebuilt)."""
    if not path.exists():
        return None
    try:
        return torch.load(path)[key]
    except Exception:
        path.unlink(missing_ok=True)
        return None


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves half a file."""
    replace_atomically(path, lambda tmp: torch.save(obj, tmp))


@contextmanager
def building(folder: Path, name: str):
    """One builder per cache entry across processes (parallel sweeps, DDP ranks, a second
    window): the caller re-checks the cache inside, since the entry may have appeared while
    it waited. The lock file lives beside the entry and is never removed (removing it would
    let a waiter and a newcomer lock different files)."""
    path = Path(folder) / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # a holder that dies releases it (the kernel's rule)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
