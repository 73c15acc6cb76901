"""`load_suite`: a dataset's corruption suite, from the released files or generated and cached.

Where released files are looked up (first match wins), with D = dataset.data_dir:
    D/<folder>, D itself when it is named <folder>, D/../<folder> (a sibling of the dataset's folder)
where <folder> is `mnist_c` (mnist-c), `CIFAR-10-C` (imagenet-c, images up to 48 px) or
`Tiny-ImageNet-C` (imagenet-c, larger images). A released suite is used only when its labels
match the dataset's test labels (e.g. an MNIST-C folder next to Fashion-MNIST is skipped,
with a note); damaged files are an error.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.engine.corruptions import released
from app.engine.corruptions.cache import GENERATOR_VERSION, SuiteCache, default_cache_dir, suite_key
from app.engine.corruptions.suite import GAUSSIAN, Suite, get_suite, suite_for
from app.errors import DatasetError

# Images corrupted per apply() call while generating. Part of the cache key: the random
# draws of a set depend on how it is cut into batches.
GENERATOR_BATCH = 1000


@dataclass
class CorruptedSet:
    """One corruption at one severity."""

    corruption: str
    severity: int
    images: torch.Tensor  # uint8 (N, C, H, W); may be a memory-mapped view
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


def batch_seed(seed: int, suite: str, corruption: str, severity: int, batch: int) -> int:
    text = f"{seed}/{suite}/{corruption}/{severity}/{batch}".encode()
    return int.from_bytes(hashlib.sha1(text).digest()[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def generate_set(suite: Suite, corruption: str, severity: int, images: torch.Tensor, seed: int,
                 out: np.ndarray | None = None, channels_last: bool = False) -> np.ndarray:
    """Corrupt `images` in fixed batches into `out` (N, C, H, W), or (N, H, W, C) if channels_last."""
    n = len(images)
    if out is None:
        shape = (n, *images.shape[2:], images.shape[1]) if channels_last else tuple(images.shape)
        out = np.empty(shape, dtype=np.uint8)
    for b, start in enumerate(range(0, n, GENERATOR_BATCH)):
        batch = images[start:start + GENERATOR_BATCH]
        y = suite.apply(corruption, batch, severity, batch_seed(seed, suite.name, corruption, severity, b))
        out[start:start + len(batch)] = (y.permute(0, 2, 3, 1) if channels_last else y).numpy()
    return out


def _candidates(dataset, folder: str) -> list[Path]:
    if not getattr(dataset, "data_dir", None):
        return []
    base = Path(dataset.data_dir).expanduser()
    found = []
    for candidate in (base / folder, base if base.name == folder else None, base.parent / folder):
        if candidate is not None and candidate.is_dir() and candidate.resolve() not in found:
            found.append(candidate.resolve())
    return found


def released_folder(dataset, suite: Suite) -> tuple[str, Path] | None:
    """('mnist_c' | 'cifar' | 'tiny', folder) of a released suite near the dataset, if any."""
    if suite.name == "mnist-c":
        kind, folder = "mnist_c", released.MNIST_C_DIR
    else:
        kind = "cifar" if suite.table(int(dataset.test_x.shape[-1])) == "C" else "tiny"
        folder = released.CIFAR_C_DIR if kind == "cifar" else released.TINY_C_DIR
    paths = _candidates(dataset, folder)
    return (kind, paths[0]) if paths else None


class _Progress:
    """Calls callback(done, total, "<stem> (<detail>)"): the stem stays fixed for one bar."""

    def __init__(self, callback, total: int, stem: str):
        self.callback, self.total, self.done, self.stem = callback, total, 0, stem

    def step(self, detail: str) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, f"{self.stem} ({detail})")


def _generated_rows(dataset, suite: Suite, rows: dict, cache: SuiteCache, seed: int, progress: _Progress) -> dict:
    """{row: tensor (S, N, C, H, W)} for rows {name: severities}, generating what the cache lacks."""
    from app.engine.cache import building

    with building(cache.folder, "build"):  # one generator per suite across processes; waiters then read
        cache.remove_orphans()
        return _generated_rows_locked(dataset, suite, rows, cache, seed, progress)


def _generated_rows_locked(dataset, suite: Suite, rows: dict, cache: SuiteCache, seed: int, progress: _Progress) -> dict:
    x = dataset.test_x
    out = {}
    for name, count in rows.items():
        cached = cache.load(name)
        if cached is not None and tuple(cached.shape) == (count, *x.shape):
            out[name] = cached
            for _ in range(count):
                progress.step(f"{name}, cached")
            continue
        array = cache.create(name, (count, *x.shape))
        try:
            for s in range(1, count + 1):
                generate_set(suite, name, s, x, seed, out=array[s - 1])
                progress.step(f"{name} severity {s}")
        except BaseException:
            cache.discard(array)
            raise
        out[name] = cache.commit(name, array)
    return out


def _to_sets(name: str, stacked: torch.Tensor, labels: torch.Tensor) -> list[CorruptedSet]:
    return [CorruptedSet(name, s + 1, stacked[s], labels) for s in range(stacked.shape[0])]


def load_suite(dataset, suite: str | None = None, cache_dir: Path | None = None, progress=None,
               seed: int = 0) -> dict:
    """The suite of `dataset`'s test set: released files when present (see module doc), else
    generated with fixed seeds and cached under `cache_dir` (default: see cache.py).

    Returns {"suite", "source": "released:<path>" | "generated", "gaussian": [CorruptedSet],
    "corruptions": {name: [CorruptedSet]}, "cache": folder or None, "note": str}.
    progress: optional callable(done, total, label), called once per corruption × severity.
    """
    name = suite or suite_for(dataset)
    s = get_suite(name)
    x, y = dataset.test_x, dataset.test_y
    s.check_images(x[:1])
    size = int(x.shape[-1])
    severities = s.severities(size)
    note = ""
    found = released_folder(dataset, s)
    result = None
    if found is not None:
        kind, folder = found
        reader = {"mnist_c": _released_mnist_c, "cifar": _released_cifar_c, "tiny": _released_tiny_c}[kind]
        result, note = reader(dataset, s, folder, cache_dir, progress, seed)
    if result is None:
        rows = {c: severities for c in s.corruptions}
        if GAUSSIAN not in rows:
            rows[GAUSSIAN] = s.gaussian_severities(size)
        cache = _cache(cache_dir, ("generated", dataset.name, name, size, GENERATOR_VERSION, GENERATOR_BATCH, seed),
                       (x, y), {"dataset": dataset.name, "suite": name, "seed": seed, "source": "generated"})
        stacked = _generated_rows(dataset, s, rows, cache, seed, _Progress(progress, sum(rows.values()), f"{name} suite"))
        result = {
            "suite": name,
            "source": "generated",
            "gaussian": _to_sets(GAUSSIAN, stacked[GAUSSIAN], y),
            "corruptions": {c: _to_sets(c, stacked[c], y) for c in s.corruptions},
            "cache": str(cache.folder),
        }
    result["note"] = note
    return result


def _cache(cache_dir, parts: tuple, tensors: tuple, meta: dict) -> SuiteCache:
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = suite_key(*parts, tensors=tensors)
    return SuiteCache(root / key, {**meta, "key_parts": list(parts), "generator_version": GENERATOR_VERSION})


def _mismatch(dataset, folder: Path, what: str) -> str:
    return f"ignored {folder}: {what} do not match the {dataset.name} test set (it belongs to another dataset)"


def _released_mnist_c(dataset, s, folder, cache_dir, progress, seed):
    sets = released.read_mnist_c(folder, s.corruptions)
    y = dataset.test_y
    for name, (_, labels) in sets.items():
        if not torch.equal(labels, y):
            return None, _mismatch(dataset, folder / name / "test_labels.npy", "its labels")
    # The MNIST-C release has no Gaussian row: ours is generated (METHOD.md) and cached.
    count = s.gaussian_severities(28)
    cache = _cache(cache_dir, ("gaussian", dataset.name, s.name, GENERATOR_VERSION, GENERATOR_BATCH, seed),
                   (dataset.test_x, y), {"dataset": dataset.name, "suite": s.name, "rows": "gaussian"})
    stacked = _generated_rows(dataset, s, {GAUSSIAN: count}, cache, seed, _Progress(progress, count, f"{s.name} Gaussian row"))
    return {
        "suite": s.name,
        "source": f"released:{folder}",
        "gaussian": _to_sets(GAUSSIAN, stacked[GAUSSIAN], y),
        "corruptions": {c: [CorruptedSet(c, 1, images, labels)] for c, (images, labels) in sets.items()},
        "cache": str(cache.folder),
    }, ""


def _released_cifar_c(dataset, s, folder, cache_dir, progress, seed):
    arrays, labels = released.read_cifar_c(folder, s.corruptions)
    shape = tuple(next(iter(arrays.values())).shape[2:])
    if shape != tuple(dataset.test_x.shape[1:]) or not torch.equal(labels, dataset.test_y):
        return None, _mismatch(dataset, folder, "its image shape or labels")
    corruptions = {c: _to_sets(c, arrays[c], labels) for c in s.corruptions}
    if progress is not None:
        progress(1, 1, f"{s.name} suite (read {folder.name})")
    return {"suite": s.name, "source": f"released:{folder}", "gaussian": corruptions[GAUSSIAN],
            "corruptions": corruptions, "cache": None}, ""


def _released_tiny_c(dataset, s, folder, cache_dir, progress, seed):
    """Decoding 750,000 JPEGs takes minutes: decoded once into the cache, memory-mapped after."""
    wnids = list(dataset.extra.get("wnids") or [])
    present = released.tiny_c_classes(folder, s.corruptions[0])
    if (wnids and present != sorted(wnids)) or (not wnids and len(present) != len(dataset.classes)):
        return None, _mismatch(dataset, folder, "its class folders (wnids)")
    wnids = wnids or present
    stamp = [(c, (folder / c).stat().st_mtime_ns) for c in s.corruptions if (folder / c).exists()]
    cache = _cache(cache_dir, ("released-tiny", str(folder), stamp, wnids), (dataset.test_y,),
                   {"dataset": dataset.name, "suite": s.name, "source": str(folder)})
    counter = _Progress(progress, len(s.corruptions) * released.SEVERITIES, f"{s.name} suite")
    from app.engine.cache import building

    with building(cache.folder, "build"):  # decoded once, even when several processes start together
        cache.remove_orphans()
        try:
            return _decode_tiny_c(dataset, s, folder, cache, wnids, counter)
        finally:
            cache.remove_orphans()  # a set that stopped half-way (an error, a mismatch, Ctrl-C)


def _decode_tiny_c(dataset, s, folder, cache, wnids, counter):
    stacked, labels = {}, None
    for c in s.corruptions:
        cached = cache.load(c)
        cached_labels = cache.load("labels") if cached is not None else None
        if cached is not None and cached_labels is not None:
            stacked[c], labels = cached, cached_labels.long()
            for _ in range(released.SEVERITIES):
                counter.step(f"{c}, cached")
            continue
        array = None
        for sev in range(1, released.SEVERITIES + 1):
            images, set_labels = released.read_tiny_c_set(folder, c, sev, wnids)
            if labels is None:
                labels = set_labels
                if not torch.equal(torch.bincount(labels, minlength=len(wnids)),
                                   torch.bincount(dataset.test_y, minlength=len(wnids))):
                    return None, _mismatch(dataset, folder, "its images per class")
                cache.save_labels(labels)
            elif not torch.equal(set_labels, labels):
                raise DatasetError(
                    f"{folder / c / str(sev)} holds a different list of images than {folder / s.corruptions[0] / '1'}: "
                    "every corruption and severity must hold the same test images; unpack Tiny-ImageNet-C again"
                )
            if tuple(images.shape[1:]) != tuple(dataset.test_x.shape[1:]):
                return None, _mismatch(dataset, folder, "its image sizes")
            if array is None:
                array = cache.create(c, (released.SEVERITIES, *images.shape))
            array[sev - 1] = images.numpy()
            counter.step(f"read {c} severity {sev}")
        stacked[c] = cache.commit(c, array)
    corruptions = {c: _to_sets(c, stacked[c], labels) for c in s.corruptions}
    return {"suite": s.name, "source": f"released:{folder}", "gaussian": corruptions[GAUSSIAN],
            "corruptions": corruptions, "cache": str(cache.folder)}, ""
