"""Every loader on small files written in exactly the official layouts, and their errors."""

import pickle

import numpy as np
import pytest
import torch

from app.engine.data import load_dataset
from app.errors import DatasetError, SettingsError
from tests.helpers import write_cifar, write_idx, write_image_folder, write_mnist, write_tiny_imagenet


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_idx_plain_and_gzip(tmp_path, compress):
    write_mnist(tmp_path, compress=compress)
    data = load_dataset("mnist", str(tmp_path))
    assert data.train_x.shape == (30, 1, 28, 28) and data.train_x.dtype == torch.uint8
    assert data.test_y.tolist() == list(range(10))
    assert data.classes[3] == "3"


def test_torchvision_raw_layout_is_found(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw")
    data = load_dataset("fashion-mnist", str(tmp_path))
    assert len(data.train_x) == 30 and data.classes[0] == "T-shirt/top"


def test_embedded_dataset_is_class_balanced(embedded):
    assert embedded.train_x.shape == (6000, 1, 28, 28) and embedded.test_x.shape == (2000, 1, 28, 28)
    assert torch.bincount(embedded.train_y).tolist() == [600] * 10
    assert torch.bincount(embedded.test_y).tolist() == [200] * 10


def test_truncated_idx_file(tmp_path):
    write_mnist(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load_dataset("mnist", str(tmp_path))


def test_corrupt_gzip(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DatasetError, match="t10k-labels.*corrupt or truncated"):
        load_dataset("mnist", str(tmp_path))


def test_missing_idx_file_names_it(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz is missing"):
        load_dataset("mnist", str(tmp_path))


def test_label_count_mismatch_and_out_of_range_labels(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(29) % 10)
    with pytest.raises(DatasetError, match="30 images but 29 labels"):
        load_dataset("mnist", str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(30, 12))
    with pytest.raises(DatasetError, match="labels lie in"):
        load_dataset("mnist", str(tmp_path))


def test_wrong_shape_is_rejected(tmp_path):
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((30, 784)))
    with pytest.raises(DatasetError, match=r"expected \(N, H, W\)"):
        load_dataset("mnist", str(tmp_path))


def test_cifar10_python_batches(tmp_path):
    folder = write_cifar(tmp_path)
    data = load_dataset("cifar10", str(tmp_path))
    assert data.train_x.shape == (40, 3, 32, 32) and data.test_x.shape == (8, 3, 32, 32)
    assert data.classes[2] == "c2" and data.family == "colour"
    # the (N, 3072) rows are channel-major: the first 1024 values are the red plane
    raw = pickle.loads((folder / "test_batch").read_bytes())["data"]
    assert torch.equal(data.test_x[0, 0].flatten(), torch.from_numpy(raw[0, :1024]))


def test_cifar10_refuses_code_in_pickles(tmp_path):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": print, "labels": []}))
    with pytest.raises(DatasetError, match="data_batch_3 is corrupt"):
        load_dataset("cifar10", str(tmp_path))


def test_tiny_imagenet_layout_with_sorted_wnids(tmp_path):
    write_tiny_imagenet(tmp_path)
    data = load_dataset("tiny-imagenet", str(tmp_path))
    assert data.extra["wnids"] == ["n01", "n02", "n03"]
    assert data.classes == ["goldfish", "salamander", "tree frog"]
    assert data.train_x.shape == (9, 3, 64, 64)
    # val_k was written for wnids[k] of the unsorted tuple ("n02", "n01", "n03")
    assert data.test_y.tolist() == [1, 0, 2]


def test_tiny_imagenet_annotation_with_unknown_class(tmp_path):
    base = write_tiny_imagenet(tmp_path)
    with open(base / "val" / "val_annotations.txt", "a") as f:
        f.write("val_9.JPEG\tn99\t0\t0\t1\t1\n")
    with pytest.raises(DatasetError, match="line 4 names class 'n99'"):
        load_dataset("tiny-imagenet", str(tmp_path))


def test_image_folder_split_is_stratified(tmp_path):
    write_image_folder(tmp_path, per_class=10, size=16, pixels="colour-noise")
    data = load_dataset("imagefolder", str(tmp_path))
    assert data.classes == ["cat", "dog"]
    assert data.train_x.shape == (16, 3, 16, 16) and data.test_x.shape == (4, 3, 16, 16)
    assert torch.bincount(data.test_y).tolist() == [2, 2]


def test_image_folder_mixed_sizes_need_image_size(tmp_path):
    write_image_folder(tmp_path, per_class=10, size=16, pixels="colour-noise", sizes={("dog", 3): 20})
    with pytest.raises(DatasetError, match=r"dog/3.png is 20×20 .* mixed image sizes; pass --image-size"):
        load_dataset("imagefolder", str(tmp_path))
    data = load_dataset("imagefolder", str(tmp_path), image_size=12)
    assert data.train_x.shape[1:] == (3, 12, 12)


def test_image_folder_non_image_files_are_skipped_with_a_warning(tmp_path):
    write_image_folder(tmp_path, per_class=10, size=16, pixels="colour-noise")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    data = load_dataset("imagefolder", str(tmp_path))
    assert len(data.train_x) + len(data.test_x) == 20
    assert "skipped 1 non-image file" in data.extra["warnings"][0]


def test_image_folder_broken_image_names_the_file(tmp_path):
    write_image_folder(tmp_path, per_class=10, size=16, pixels="colour-noise")
    (tmp_path / "dog" / "5.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DatasetError, match=r"dog/5.png is not a readable image"):
        load_dataset("imagefolder", str(tmp_path))


def test_unknown_dataset_and_missing_folders():
    with pytest.raises(SettingsError, match="unknown dataset 'svhn'"):
        load_dataset("svhn")
    with pytest.raises(DatasetError, match="needs --data-dir"):
        load_dataset("cifar10")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("mnist", "/nonexistent/folder")
