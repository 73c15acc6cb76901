"""On-disk cache of generated (or decoded) suites, read back memory-mapped.

    <cache root>/suites/<key>/<name>.npy    uint8 (severities, N, C, H, W), one file per corruption
    <cache root>/suites/<key>/labels.npy
    <cache root>/suites/<key>/meta.json     what the key stands for (for people reading the folder)

Cache root and keys: app/engine/cache.py (one place for both).
Each file is written under a temporary name and renamed when complete, so an interrupted
run leaves no half file and the next run resumes with the corruptions still missing; the
temporary file of an interrupted build is removed (at once, or by the next build when the
process was killed outright).
"""

import json
from pathlib import Path

import numpy as np
import torch

from app.engine.atomic import commit, is_temporary, replace_atomically, temporary_name, write_text_atomically
from app.engine.cache import cache_dir, fingerprint

# Bump when any corruption's output changes: old cache entries are then never read again.
GENERATOR_VERSION = 1


def default_cache_dir() -> Path:
    return cache_dir("suites")


def suite_key(*parts, tensors: tuple = ()) -> str:
    return fingerprint(*parts, *tensors, length=20)  # 20 hex digits: the keys of earlier versions


class SuiteCache:
    def __init__(self, folder: Path, meta: dict):
        from app.engine.cache import make_cache_folder

        self.folder = make_cache_folder(Path(folder))
        meta_path = self.folder / "meta.json"
        if not meta_path.exists():
            write_text_atomically(meta_path, json.dumps(meta, indent=1, default=str))

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.npy"

    def load(self, name: str) -> torch.Tensor | None:
        """The cached array, memory-mapped copy-on-write; None if absent or unreadable."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            return torch.from_numpy(np.load(path, mmap_mode="c", allow_pickle=False))
        except Exception:  # a damaged cache file is regenerated, never an error
            path.unlink(missing_ok=True)
            return None

    def create(self, name: str, shape: tuple) -> np.memmap:
        # filled in place (a suite is too large to build in memory first), committed whole
        return np.lib.format.open_memmap(temporary_name(self.path(name)), mode="w+", dtype=np.uint8, shape=shape)

    def discard(self, array: np.memmap) -> None:
        """An interrupted build (an error, Ctrl-C, SIGTERM): its temporary file is removed."""
        tmp = Path(array.filename)
        del array
        tmp.unlink(missing_ok=True)

    def remove_orphans(self) -> None:
        """Temporary files of builds killed outright (SIGKILL, a power cut): call while holding
        the build lock, when no other process can be writing here."""
        for tmp in self.folder.iterdir():
            if is_temporary(tmp):
                tmp.unlink(missing_ok=True)

    def commit(self, name: str, array: np.memmap) -> torch.Tensor:
        array.flush()
        tmp = Path(array.filename)
        del array
        commit(tmp, self.path(name))
        return self.load(name)

    def save_labels(self, labels: torch.Tensor) -> None:
        replace_atomically(self.folder / "labels.npy", lambda tmp: np.save(tmp, labels.numpy().astype(np.int64)))
