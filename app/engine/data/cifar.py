"""CIFAR-10 in its official python layout: `cifar-10-batches-py/` pickles.

torchvision's CIFAR10 checks the md5 of every batch file, so it refuses any file but the
released ones and raises a generic "corrupted" message; we read the same pickles with a
restricted unpickler (only numpy arrays and plain containers may be built) and validate shapes.
"""

import contextlib
import io
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

from app.engine.data.dataset import Dataset, integer_labels
from app.errors import DatasetError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """A pickle from disk must not run arbitrary code: allow numpy's array rebuilders only."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    @classmethod
    def read(cls, raw: bytes):
        """Unpickle `raw`. A damaged pickle can make CPython print a SystemError line to stderr on
        its own (a bytearray freed while exported); the file is refused anyway, so that line is
        kept from the user's terminal."""
        hook = sys.excepthook  # CPython prints that line through sys.excepthook
        sys.excepthook = lambda *exc_info: None
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                unpickler = cls(io.BytesIO(raw), encoding="latin1")
                try:
                    return unpickler.load()
                except Exception as exc:  # noqa: BLE001 - any failure: the file is not a batch
                    failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                finally:
                    del unpickler  # half-built objects are freed here, while still muted
        finally:
            sys.excepthook = hook
        raise pickle.UnpicklingError(failure)

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing: unpack the official cifar-10-python.tar.gz into --data-dir")
    try:
        entry = _NumpyOnlyUnpickler.read(path.read_bytes())
    except Exception as exc:  # any unpickling failure means the file is not a CIFAR batch
        raise DatasetError(f"{path} is corrupt or not a CIFAR-10 batch ({exc}): unpack the archive again") from None
    if not isinstance(entry, dict) or "data" not in entry or not ("labels" in entry or "fine_labels" in entry):
        raise DatasetError(f"{path} has no 'data'/'labels' entries: it is not a CIFAR-10 batch file")
    try:
        data = np.asarray(entry["data"])
    except (ValueError, TypeError):  # rows of different lengths, objects that are no numbers
        raise DatasetError(f"{path}: 'data' is not an array of images, expected (N, 3072) uint8: unpack the archive again") from None
    labels = integer_labels(entry.get("labels", entry.get("fine_labels")), str(path), "unpack the archive again")
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.ndim != 1 or len(labels) != len(data):
        counted = f"{len(labels)} labels" if labels.ndim == 1 else f"labels of shape {labels.shape}"
        raise DatasetError(
            f"{path}: data has shape {data.shape} with {counted}, expected (N, 3072) uint8 "
            "and N labels: the file is corrupt; unpack the archive again"
        )
    # A cast to uint8 would turn floats in [0, 1] into black images and wrap values over 255:
    # only whole pixel values 0..255 are CIFAR data.
    if data.dtype.kind not in "iu" or (data.size and (int(data.min()) < 0 or int(data.max()) > 255)):
        low, high = (f"{float(data.min()):g}", f"{float(data.max()):g}") if data.size and data.dtype.kind in "iuf" else ("?", "?")
        raise DatasetError(
            f"{path}: data are {data.dtype.name} values in [{low}, {high}], expected uint8 pixel values 0..255 as in "
            "the official batches: unpack the archive again (or convert the images with round(x * 255))"
        )
    return data.reshape(-1, 3, 32, 32).astype(np.uint8), labels


def load_cifar10(data_dir: str | None) -> Dataset:
    if data_dir is None:
        raise DatasetError("cifar10 needs --data-dir: the folder that contains cifar-10-batches-py/")
    root = Path(data_dir)
    folder = root if (root / "data_batch_1").exists() or root.name == "cifar-10-batches-py" else root / "cifar-10-batches-py"
    if not folder.is_dir():
        raise DatasetError(f"{folder} does not exist: unpack the official cifar-10-python.tar.gz into {root}")
    train = [_read_batch(folder / name) for name in TRAIN_BATCHES]
    test_x, test_y = _read_batch(folder / "test_batch")
    classes = CIFAR10_CLASSES
    meta = folder / "batches.meta"
    if meta.is_file():
        try:
            names = _NumpyOnlyUnpickler.read(meta.read_bytes()).get("label_names")
            if names and len(names) == 10:
                classes = list(names)
        except Exception:
            pass  # meta only renames classes; the canonical names are fine
    return Dataset(
        name="cifar10",
        train_x=torch.from_numpy(np.concatenate([x for x, _ in train])),
        train_y=torch.from_numpy(np.concatenate([y for _, y in train])),
        test_x=torch.from_numpy(test_x),
        test_y=torch.from_numpy(test_y),
        classes=classes,
        source=str(folder),
        data_dir=str(root),
    )
