"""Dataset-file faults that tests/test_datasets.py does not cover yet (README, "Projects,
autosave and recovery", lists them all): each is a one-line DatasetError naming the file and the fix."""

import gzip
import pickle

import numpy as np
import pytest
from PIL import Image

from app.engine.data import load_dataset
from app.errors import DatasetError


def _idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def _mnist(folder, train_size=28, test_size=28):
    for prefix, n, size in (("train", 20, train_size), ("t10k", 10, test_size)):
        _idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, size, size)))
        _idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def _folder(root, classes=("cat", "dog"), per_class=5, size=(16, 16)):
    for c in classes:
        (root / c).mkdir(parents=True)
        for k in range(per_class):
            Image.fromarray(np.full((*size, 3), 30 * k, dtype=np.uint8)).save(root / c / f"{k}.png")


def _one_line(error) -> str:
    assert "\n" not in str(error.value)
    return str(error.value)


def test_a_file_that_is_not_an_idx_file(tmp_path):
    _mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"<html>404 Not Found</html>"))
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "train-images-idx3-ubyte.gz is not an IDX file (bad magic number): download the file again" in _one_line(error)


def test_train_and_test_images_of_different_sizes(tmp_path):
    _mnist(tmp_path, test_size=32)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "train images are (1, 28, 28) but test images (1, 32, 32): use one image size for both splits" in _one_line(error)


def _cifar(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 3]}))
    return folder


def test_a_cifar_batch_of_the_wrong_shape(tmp_path):
    folder = _cifar(tmp_path)
    (folder / "data_batch_4").write_bytes(pickle.dumps({"data": np.zeros((4, 1024), np.uint8), "labels": [0] * 4}))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", str(tmp_path))
    assert "data_batch_4: data has shape (4, 1024)" in _one_line(error) and "unpack the archive again" in str(error.value)


def test_a_missing_cifar_batch(tmp_path):
    folder = _cifar(tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(DatasetError, match="test_batch is missing: unpack the official cifar-10-python.tar.gz"):
        load_dataset("cifar10", str(tmp_path))


def test_an_empty_class_folder(tmp_path):
    _folder(tmp_path)
    (tmp_path / "bird").mkdir()
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "class folder(s) bird in" in _one_line(error) and "add images or remove the folder" in str(error.value)


def test_a_folder_without_class_folders(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "lonely.png")
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "has no class sub-folders: put the images of each class in a folder of its own" in _one_line(error)


def test_images_that_are_not_square(tmp_path):
    _folder(tmp_path, size=(16, 24))
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "are 24×16, not square: pass --image-size N to resize them" in _one_line(error)


def test_a_missing_image_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist: pass --data-dir with a folder that has one sub-folder per class"):
        load_dataset("imagefolder", str(tmp_path / "holiday-photos"))
