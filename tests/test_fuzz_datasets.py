"""Fuzzing the dataset files (--dataset mnist / cifar10 / imagefolder): IDX headers and bodies,
CIFAR pickles, image files. Property (tests/fuzz_support.py): a dataset every run can use
(uint8 images, class numbers in range, both splits, two classes) or one line naming the file."""

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs Hypothesis: pip install -e '.[test]'")

import gzip
import io
import pickle

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from app.engine.data import load_dataset
from app.engine.data.cifar import _read_batch
from app.engine.data.idx import read_idx
from app.engine.data.images import read_images
from tests.fuzz_support import mutate, read_or_refuse, scratch
from tests.helpers import IDX_TYPES, idx_bytes


def check_dataset(dataset) -> None:
    """What the loaders promise every run (app/engine/data/dataset.py)."""
    for x, y in ((dataset.train_x, dataset.train_y), (dataset.test_x, dataset.test_y)):
        assert x.dtype == torch.uint8 and x.ndim == 4 and len(x) > 0
        assert y.dtype == torch.int64 and y.shape == (len(x),)
        assert int(y.min()) >= 0 and int(y.max()) < dataset.num_classes
    assert dataset.train_x.shape[1:] == dataset.test_x.shape[1:]
    assert len(dataset.train_y.unique()) >= 2


# -- IDX -----------------------------------------------------------------------------------------------------
@st.composite
def idx_files(draw):
    """(bytes, header shape or None): a header (type, dimensions) and a body that mostly fits it."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64)), None
    code = draw(st.sampled_from([*IDX_TYPES, draw(st.integers(0, 255))]))
    ndim = draw(st.sampled_from([1, 2, 3, draw(st.integers(0, 255))]))
    if draw(st.booleans()):
        dims = [draw(st.integers(0, 6)) for _ in range(min(ndim, 6))]
    else:  # hostile sizes: up to 2^32 - 1 each, products that overflow 64 bits
        dims = [draw(st.sampled_from([0, 1, 7, 2**16, 2**31 - 1, 2**32 - 1, draw(st.integers(0, 2**32 - 1))]))
                for _ in range(min(ndim, 6))]
    dims += [1] * (ndim - len(dims))
    header = bytes([0, 0, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims)
    itemsize = np.dtype(IDX_TYPES[code]).itemsize if code in IDX_TYPES else 1
    count = int(np.prod(dims, dtype=object)) if dims else 1
    size = count * itemsize if count * itemsize <= 4096 else draw(st.integers(0, 64))
    size += draw(st.sampled_from([0, 0, 0, -1, 1, -itemsize]))
    body = draw(st.binary(min_size=max(size, 0), max_size=max(size, 0)))
    return header + body, tuple(dims)


@given(idx_files(), st.booleans(), st.data())
def test_any_idx_file_is_read_or_refused(file, compressed, data):
    raw, shape = file
    if data.draw(st.integers(0, 4)) == 0:
        raw = mutate(raw, data)
    with scratch() as folder:
        path = folder / ("x-idx3-ubyte.gz" if compressed else "x-idx3-ubyte")
        path.write_bytes(gzip.compress(raw) if compressed else raw)
        array, refusal = read_or_refuse(lambda: read_idx(path), path)
        if refusal is None:
            assert isinstance(array, torch.Tensor)
            assert tuple(array.shape) == tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3]))


@st.composite
def mnist_folders(draw):
    """{file name: bytes} of the four IDX files: valid small splits, then perhaps one damaged,
    of another type, shape or label range."""
    files = {}
    side = draw(st.sampled_from([28, 8, 4, 1]))
    for prefix, n in (("train", draw(st.integers(0, 12))), ("t10k", draw(st.integers(0, 6)))):
        images = draw(hnp.arrays(np.uint8, (n, side, side)))
        labels = draw(hnp.arrays(np.uint8, (n,), elements=st.integers(0, draw(st.sampled_from([1, 9, 12, 255])))))
        files[f"{prefix}-images-idx3-ubyte"] = idx_bytes(images, draw(st.sampled_from([0x08, 0x08, 0x09, 0x0D])))
        files[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(labels, draw(st.sampled_from([0x08, 0x08, 0x0B, 0x0D, 0x0E])))
    name = draw(st.sampled_from(sorted(files)))
    choice = draw(st.integers(0, 3))
    if choice == 0:
        files[name] = mutate(files[name], draw(st.data()))
    elif choice == 1:
        del files[name]
    return files


@given(mnist_folders(), st.booleans())
def test_any_mnist_folder_loads_as_a_usable_dataset_or_is_refused(files, compressed):
    with scratch() as folder:
        for name, raw in files.items():
            if compressed:
                (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
        dataset, refusal = read_or_refuse(lambda: load_dataset("mnist", str(folder)), folder, "mnist")
        if refusal is None:
            check_dataset(dataset)


# -- CIFAR-10 pickles ------------------------------------------------------------------------------------------
LABEL_VALUE = st.one_of(st.integers(-3, 12), st.floats(), st.text(max_size=3), st.none(), st.booleans(),
                        st.integers(min_value=2**62, max_value=2**70))
ARRAY = hnp.arrays(st.one_of(hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(),
                             hnp.boolean_dtypes(), hnp.unicode_string_dtypes(max_len=3)),
                   hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))


@st.composite
def cifar_entries(draw):
    """What a pickled batch may hold: mostly the real layout (data (N, 3072) uint8, labels), with
    the types, shapes and values of its parts varied."""
    n = draw(st.integers(0, 4))
    if draw(st.integers(0, 2)):
        data = draw(hnp.arrays(np.uint8, (n, 3072)))
    else:
        data = draw(st.one_of(
            ARRAY, hnp.arrays(st.sampled_from([np.float32, np.float64]), (n, 3072), elements=st.floats(-1, 300, width=32)),
            hnp.arrays(st.sampled_from([np.int64, np.int16, np.uint16]), (n, 3072), elements=st.integers(0, 300)),
            st.lists(st.lists(st.integers(0, 255), max_size=3), max_size=3), st.text(max_size=4), st.none()))
    if draw(st.integers(0, 2)):
        labels = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    else:
        labels = draw(st.one_of(st.lists(LABEL_VALUE, max_size=5), ARRAY, LABEL_VALUE,
                                st.lists(st.lists(st.integers(0, 9), max_size=2), max_size=3)))
    entry = {draw(st.sampled_from(["data", "data", "images"])): data,
             draw(st.sampled_from(["labels", "labels", "fine_labels", "targets"])): labels}
    if draw(st.booleans()):
        entry["batch_label"] = "training batch 1 of 5"
    return draw(st.sampled_from([entry, entry, entry, [data, labels], data]))


@given(cifar_entries(), st.integers(0, 5), st.data())
def test_any_cifar_batch_is_read_or_refused(entry, protocol, data):
    raw = pickle.dumps(entry, protocol=protocol)
    if data.draw(st.integers(0, 4)) == 0:
        raw = mutate(raw, data)
    with scratch() as folder:
        path = folder / "data_batch_1"
        path.write_bytes(raw)
        batch, refusal = read_or_refuse(lambda: _read_batch(path), path)
        if refusal is None:
            images, labels = batch
            assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (3, 32, 32)
            assert labels.dtype == np.int64 and labels.shape == (len(images),)


@given(st.lists(cifar_entries(), min_size=6, max_size=6), st.booleans())
def test_any_cifar_folder_loads_as_a_usable_dataset_or_is_refused(entries, with_meta):
    with scratch() as root:
        folder = root / "cifar-10-batches-py"
        folder.mkdir()
        for name, entry in zip([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], entries):
            (folder / name).write_bytes(pickle.dumps(entry))
        if with_meta:
            (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
        dataset, refusal = read_or_refuse(lambda: load_dataset("cifar10", str(root)), root, "cifar10")
        if refusal is None:
            check_dataset(dataset)


# -- image files ---------------------------------------------------------------------------------------------
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "F", "HSV", "LAB", "PA", "RGBX"]
FORMATS = {"png": "PNG", "bmp": "BMP", "tif": "TIFF", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "ppm": "PPM",
           "pgm": "PPM", "tga": "TGA", "ico": "ICO"}


@st.composite
def image_files(draw):
    """(file name, bytes): an image of some mode and size saved in some format (what the format
    cannot store is left out), perhaps damaged afterwards."""
    mode = draw(st.sampled_from(MODES))
    width, height = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    ext = draw(st.sampled_from(sorted(FORMATS)))
    image = Image.new(mode, (width, height))
    pixels = draw(st.binary(min_size=64, max_size=64))
    try:
        image = Image.frombytes(mode, (width, height), (pixels * (1 + 16 * width * height // 64))[: len(image.tobytes())])
    except (ValueError, OSError):
        pass
    buffer = io.BytesIO()
    try:
        image.save(buffer, FORMATS[ext])
    except (OSError, ValueError, KeyError, TypeError):
        image.convert("RGB").save(buffer, FORMATS[ext])
    raw = buffer.getvalue()
    if draw(st.integers(0, 3)) == 0:
        raw = mutate(raw, draw(st.data()))
    return f"img.{ext}", raw


@given(st.lists(image_files(), min_size=1, max_size=4), st.sampled_from([None, None, 1, 8, 28]),
       st.sampled_from([None, None, 1, 3]))
def test_any_image_file_is_decoded_or_refused(files, image_size, channels):
    with scratch() as folder:
        paths = []
        for k, (name, raw) in enumerate(files):
            paths.append(folder / f"{k}-{name}")
            paths[-1].write_bytes(raw)
        notes = []
        images, refusal = read_or_refuse(lambda: read_images(paths, image_size, channels, notes), *paths)
        if refusal is None:
            assert images.dtype == torch.uint8 and images.ndim == 4 and len(images) == len(paths)
            if image_size is not None:
                assert images.shape[2:] == (image_size, image_size)
            if channels is not None:
                assert images.shape[1] == channels
            assert all("\n" not in note for note in notes)


@given(st.lists(image_files(), min_size=2, max_size=8), st.integers(2, 3), st.sampled_from([None, 8]), st.booleans())
def test_any_image_folder_loads_as_a_usable_dataset_or_is_refused(files, classes, image_size, split):
    with scratch() as root:
        for k, (name, raw) in enumerate(files):
            part = ("train" if k % 3 else "test") if split else None
            folder = (root / part if part else root) / f"class{k % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{k}-{name}").write_bytes(raw)
        dataset, refusal = read_or_refuse(lambda: load_dataset("imagefolder", str(root), image_size), root, "imagefolder")
        if refusal is None:
            check_dataset(dataset)
            assert all("\n" not in w for w in dataset.extra.get("warnings", []))
