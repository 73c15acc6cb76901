"""Plain helpers the tests share: settings from the one source of defaults, answer records,
slices of a dataset, dataset files written in exactly the official layouts, the command line run
in-process, the checks of a one-line error, and queries, evaluations and sessions for the window. Fixtures live in tests/conftest.py; the fuzz
suite's property and mutations in tests/fuzz_support.py (they need Hypothesis). Importable
outside pytest too (tests/crash_driver.py, tests/crash_harness.py).

Test files import these from here (`from tests.helpers import ...`), never from another test file."""

import contextlib
import gzip
import os
import pickle
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image

from app.engine.events import AnswerRecord, Callbacks, Metrics, Query
from app.engine.settings import Settings, defaults_for

GRID = [round(0.1 * i, 1) for i in range(11)]  # the gray family's candidate grid (resources/defaults.toml)


# -- settings -------------------------------------------------------------------------------------------
# Presets for `settings(preset, **overrides)`.
SHORT_RUN = dict(epochs=2, batch_size=100, budget="20", warmup_epochs=1, device="cpu", eval_subset=50,
                 method="aqpl-gnt")  # projects and faults (tests/test_faults*.py): two short epochs on `tiny`
CPU = dict(device="cpu")  # conftest's make_settings


def settings(*presets: dict, **overrides) -> Settings:
    """The gray family's defaults from resources/defaults.toml, then each preset in turn, then
    `overrides` (None values are ignored, as in defaults_for). Not validated: tests of refused
    settings build them too."""
    values = {}
    for preset in presets:
        values.update(preset)
    values.update(overrides)
    return defaults_for("gray", **values)


# -- answers and callbacks -----------------------------------------------------------------------------
def answer_record(example: int, level: float | None = 0.3, *, time_taken_s: float = 1.0, round_: int = 1,
                  step: int = 0, source: str = "expert") -> AnswerRecord:
    """An expert's answer on GRID as a project stores it, given now."""
    return AnswerRecord(example_id=example, level=level, grid=GRID, noise_seed=0, time_taken_s=time_taken_s,
                        wall_time=time.time(), round=round_, step=step, source=source)


class Warnings(Callbacks):
    """Callbacks that keep every warning (`messages`)."""

    def __init__(self):
        self.messages = []

    def on_warning(self, message):
        self.messages.append(message)


# -- one-line errors and the command line --------------------------------------------------------------
def one_line(error: Exception, max_length: int | None = 600) -> str:
    """The error's message, checked to be one line (and shorter than `max_length`, unless None)."""
    message = str(error)
    assert "\n" not in message, message
    if max_length is not None:
        assert len(message) < max_length, message
    return message


def error_line(stderr: str) -> str:
    """The one `error:` line of a command's stderr, checked to be the only one, without a traceback."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """The command line in this process: (exit code, stdout, stderr). Paths may be given as Path."""
    from app.cli.main import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# One epoch of the small CNN on an image folder (give --data-dir and --out): seconds.
TINY_RUN = ("--simulate-oracle", "--dataset", "imagefolder", "--method", "standard", "--epochs", "1",
            "--batch-size", "8", "--no-suite", "--quiet", "--eval-every", "0")


# -- the window ------------------------------------------------------------------------------------------
WAIT_MS = 60_000  # the longest a window test waits for the worker


def query(example: int, level: float = 0.0) -> Query:
    """A query on GRID for the query panel: class example % 10, first round."""
    return Query(example_id=example, label=example % 10, class_name=f"class {example % 10}", level=level, round=1,
                 utility=0.0, noise_seed=0, grid=GRID)


def metrics(epoch: int, answers: int, clean: float, final: bool = False, gaussian=None, all=None) -> Metrics:
    """An evaluation for the accuracy plot: step 10 × epoch, a one-point curve at level 0."""
    return Metrics(epoch=epoch, step=epoch * 10, answers=answers, clean=clean, gaussian=gaussian, all=all,
                   curve_levels=[0.0], curve_accuracy=[clean], loss=None, final=final)


def start_session(window, qtbot, dataset, **request):
    """Start a session without the corruption suite (SessionRequest's other fields in `request`)
    and wait until its trainer exists or it has ended."""
    from app.gui.prepare import SessionRequest

    session = window.start_session(SessionRequest(dataset=dataset, load_suite=False, **request))
    qtbot.waitUntil(lambda: session.trainer is not None or not session.active, timeout=WAIT_MS)
    return session


# -- the file system -----------------------------------------------------------------------------------
@contextlib.contextmanager
def read_only(folder):
    """chmod for ordinary users; root ignores permissions, so a read-only bind mount instead."""
    import pytest

    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root without permission to mount: cannot make a folder read-only")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        yield
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def fill_disk(path) -> None:
    """Write zeros to the file `path` until its file system is full, to the last byte."""
    with open(path, "wb", buffering=0) as f, contextlib.suppress(OSError):
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)


# -- datasets in memory --------------------------------------------------------------------------------
def slice_dataset(dataset, train: int, test: int, name: str | None = None):
    """The first `train` training and `test` test images of `dataset` (copies)."""
    from app.engine.data.dataset import Dataset

    return Dataset(
        name=name or f"{dataset.name}-{train}", train_x=dataset.train_x[:train].clone(), train_y=dataset.train_y[:train].clone(),
        test_x=dataset.test_x[:test].clone(), test_y=dataset.test_y[:test].clone(), classes=dataset.classes,
        source=dataset.source, data_dir=dataset.data_dir,
    )


# -- dataset files in the official layouts ---------------------------------------------------------------
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}  # IDX type codes


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file: magic (0, 0, type code, dimensions), the big-endian sizes, then the values."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(IDX_TYPES[code]).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True, code: int = 0x08) -> None:
    """`array` as an IDX file at `path`: gzip-compressed (as downloaded) or plain (as unpacked)."""
    data = idx_bytes(array, code)
    path.write_bytes(gzip.compress(data) if compress else data)


def write_mnist(folder: Path, train: int = 30, test: int = 10, *, compress: bool = True, pixels: str = "noise",
                side: int = 28, test_side: int | None = None, dataset=None) -> Path:
    """MNIST's four IDX files in `folder` (created): train-/t10k- images-idx3-ubyte and
    labels-idx1-ubyte, each .gz when `compress`. The images are `dataset`'s first ones (with its
    labels), else side × side pixels (test_side for the test split) of seeded noise ("noise") or
    black ("zeros"), labelled 0..9 in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    splits = (("train", train, side, "train"), ("t10k", test, side if test_side is None else test_side, "test"))
    for prefix, n, size, split in splits:
        if dataset is not None:
            images, labels = getattr(dataset, f"{split}_x")[:n, 0].numpy(), getattr(dataset, f"{split}_y")[:n].numpy()
        elif pixels == "noise":
            images, labels = rng.integers(0, 256, (n, size, size)), np.arange(n) % 10
        elif pixels == "zeros":
            images, labels = np.zeros((n, size, size)), np.arange(n) % 10
        else:
            raise ValueError(f"pixels {pixels!r}: 'noise' or 'zeros'")
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
    return folder


def write_cifar(root: Path, n: int = 8, *, pixels: str = "noise", meta: bool = True) -> Path:
    """CIFAR-10's python batches in root/cifar-10-batches-py (returned): data_batch_1..5 and
    test_batch of `n` images each, seeded noise ("noise") or black ("zeros"), labelled 0..9 in
    turn; batches.meta with class names c0..c9 when `meta`."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        if pixels == "noise":
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        elif pixels == "zeros":
            data = np.zeros((n, 3072), np.uint8)
        else:
            raise ValueError(f"pixels {pixels!r}: 'noise' or 'zeros'")
        (folder / name).write_bytes(pickle.dumps({"data": data, "labels": [i % 10 for i in range(n)]}))
    if meta:
        (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return folder


def write_tiny_imagenet(root: Path, wnids=("n02", "n01", "n03"), per_class: int = 3) -> Path:
    """Tiny-ImageNet's layout in root/tiny-imagenet-200 (returned): train/<wnid>/images, val
    images with val_annotations.txt (val_k is of wnids[k]), wnids.txt and words.txt."""
    base = root / "tiny-imagenet-200"
    rng = np.random.default_rng(0)
    for w in wnids:
        (base / "train" / w / "images").mkdir(parents=True)
        for k in range(per_class):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(base / "train" / w / "images" / f"{w}_{k}.JPEG")
    (base / "val" / "images").mkdir(parents=True)
    lines = []
    for k, w in enumerate(wnids):
        Image.fromarray(np.full((64, 64, 3), 40 * k, dtype=np.uint8)).save(base / "val" / "images" / f"val_{k}.JPEG")
        lines.append(f"val_{k}.JPEG\t{w}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (base / "words.txt").write_text("n01\tgoldfish, Carassius auratus\nn02\tsalamander\nn03\ttree frog\n")
    return base


def write_image_folder(root: Path, classes=("cat", "dog"), per_class: int = 8, size: int | tuple[int, int] = 8,
                       pixels: str = "gray-noise", sizes: dict | None = None) -> Path:
    """An image folder (returned): root/<class>/<k>.png, `per_class` images of each class.
    `size` is a side or (height, width); `sizes` {(class, k): size} gives some images another.
    pixels: "gray-noise" (grayscale, each image its own seed 10 × class index + k: the small CNN
    trains on it in well under a second), "colour-noise" (RGB from one generator, seed 0) or
    "flat" (RGB, every pixel 30 × k)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            shape = (sizes or {}).get((name, k), size)
            height, width = shape if isinstance(shape, tuple) else (shape, shape)
            if pixels == "gray-noise":
                array = np.random.default_rng(10 * c + k).integers(0, 256, (height, width), dtype=np.uint8)
            elif pixels == "colour-noise":
                array = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            elif pixels == "flat":
                array = np.full((height, width, 3), 30 * k, dtype=np.uint8)
            else:
                raise ValueError(f"pixels {pixels!r}: 'gray-noise', 'colour-noise' or 'flat'")
            Image.fromarray(array).save(root / name / f"{k}.png")
    return root
