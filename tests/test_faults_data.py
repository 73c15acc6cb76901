"""Dataset-file faults that tests/test_datasets.py does not cover yet (README, "Projects,
autosave and recovery", lists them all): each is a one-line DatasetError naming the file and the fix."""

import gzip
import pickle

import numpy as np
import pytest
from PIL import Image

from app.engine.data import load_dataset
from app.errors import DatasetError
from tests.helpers import one_line, write_cifar, write_image_folder, write_mnist


def test_a_file_that_is_not_an_idx_file(tmp_path):
    write_mnist(tmp_path, 20, 10, pixels="zeros")
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"<html>404 Not Found</html>"))
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "train-images-idx3-ubyte.gz is not an IDX file (bad magic number): download the file again" in one_line(error.value, max_length=None)


def test_train_and_test_images_of_different_sizes(tmp_path):
    write_mnist(tmp_path, 20, 10, pixels="zeros", test_side=32)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", str(tmp_path))
    assert "train images are (1, 28, 28) but test images (1, 32, 32): use one image size for both splits" in one_line(error.value, max_length=None)


def test_a_cifar_batch_of_the_wrong_shape(tmp_path):
    folder = write_cifar(tmp_path, 4, pixels="zeros", meta=False)
    (folder / "data_batch_4").write_bytes(pickle.dumps({"data": np.zeros((4, 1024), np.uint8), "labels": [0] * 4}))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", str(tmp_path))
    assert "data_batch_4: data has shape (4, 1024)" in one_line(error.value, max_length=None) and "unpack the archive again" in str(error.value)


def test_a_missing_cifar_batch(tmp_path):
    folder = write_cifar(tmp_path, 4, pixels="zeros", meta=False)
    (folder / "test_batch").unlink()
    with pytest.raises(DatasetError, match="test_batch is missing: unpack the official cifar-10-python.tar.gz"):
        load_dataset("cifar10", str(tmp_path))


def test_an_empty_class_folder(tmp_path):
    write_image_folder(tmp_path, per_class=5, size=16, pixels="flat")
    (tmp_path / "bird").mkdir()
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "class folder(s) bird in" in one_line(error.value, max_length=None) and "add images or remove the folder" in str(error.value)


def test_a_folder_without_class_folders(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "lonely.png")
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "has no class sub-folders: put the images of each class in a folder of its own" in one_line(error.value, max_length=None)


def test_images_that_are_not_square(tmp_path):
    write_image_folder(tmp_path, per_class=5, size=(16, 24), pixels="flat")
    with pytest.raises(DatasetError) as error:
        load_dataset("imagefolder", str(tmp_path))
    assert "are 24×16, not square: pass --image-size N to resize them" in one_line(error.value, max_length=None)


def test_a_missing_image_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist: pass --data-dir with a folder that has one sub-folder per class"):
        load_dataset("imagefolder", str(tmp_path / "holiday-photos"))
