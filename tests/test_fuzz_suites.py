"""Fuzzing the released corruption suites a run reads from --data-dir: MNIST-C's and
CIFAR-10-C's .npy files. Property (tests/fuzz_support.py): read as (severities, N, C, H, W)
uint8 images with N labels each, or refused in one line naming the file."""

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs Hypothesis: pip install -e '.[test]'")

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.engine.corruptions import released
from tests.fuzz_support import mutate, read_or_refuse, scratch

DTYPES = st.one_of(st.just(np.dtype(np.uint8)), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(),
                   hnp.boolean_dtypes())


@st.composite
def npy_files(draw, shape):
    """The bytes of a .npy file: mostly `shape` uint8, else another dtype or shape, C or
    Fortran order, perhaps damaged; sometimes not a .npy at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    dtype = np.dtype(np.uint8) if kind > 3 else draw(DTYPES)
    if kind in (1, 2) or draw(st.integers(0, 4)) == 0:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4))
    array = draw(hnp.arrays(dtype, shape))
    if draw(st.booleans()):
        array = np.asfortranarray(array)
    from io import BytesIO

    buffer = BytesIO()
    np.save(buffer, array)
    raw = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:
        raw = mutate(raw, draw(st.data()))
    return raw


@given(st.integers(0, 5), st.data())
def test_any_mnist_c_folder_is_read_or_refused(n, data):
    corruptions = ("shot_noise", "fog")
    with scratch() as root:
        for name in corruptions:
            (root / name).mkdir()
            (root / name / "test_images.npy").write_bytes(data.draw(npy_files((n, 28, 28, 1)), label="images"))
            labels = data.draw(st.one_of(
                npy_files((n,)),
                hnp.arrays(st.sampled_from([np.uint8, np.int64]), n, elements=st.integers(0, 9)).map(_npy_bytes)),
                label="labels")
            (root / name / "test_labels.npy").write_bytes(labels)
        sets, refusal = read_or_refuse(lambda: released.read_mnist_c(root, corruptions), root)
        if refusal is None:
            for images, labels in sets.values():
                assert images.dtype == torch.uint8 and images.shape[1:] == (1, 28, 28)
                assert labels.dtype == torch.int64 and labels.shape == (len(images),)
                images.float().mean()  # readable, whatever the file's memory order


def _npy_bytes(array) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@given(st.integers(0, 4), st.sampled_from([(8, 8), (32, 32)]), st.data())
def test_any_cifar_10_c_folder_is_read_or_refused(n, size, data):
    corruptions = ("gaussian_noise", "fog")
    with scratch() as root:
        for name in corruptions:
            (root / f"{name}.npy").write_bytes(data.draw(npy_files((5 * n, *size, 3)), label=name))
        labels = data.draw(st.one_of(
            npy_files((5 * n,)),
            hnp.arrays(np.uint8, 5 * n, elements=st.integers(0, 9)).map(_npy_bytes),
            hnp.arrays(np.uint8, n, elements=st.integers(0, 9)).map(lambda a: _npy_bytes(np.tile(a, 5))),
        ), label="labels")
        (root / "labels.npy").write_bytes(labels)
        read, refusal = read_or_refuse(lambda: released.read_cifar_c(root, corruptions), root)
        if refusal is None:
            arrays, labels = read
            for stacked in arrays.values():
                assert stacked.dtype == torch.uint8 and stacked.shape[0] == 5 and stacked.shape[2] == 3
                assert stacked.shape[1] == len(labels)
                stacked.float().mean()  # readable, whatever the file's memory order
            assert labels.dtype == torch.int64 and labels.ndim == 1
