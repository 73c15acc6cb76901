"""MNIST, Fashion-MNIST and the embedded Fashion-MNIST subset: the official IDX layout."""

from pathlib import Path

import torch

from app.engine.data.dataset import Dataset, integer_labels
from app.engine.data.idx import find_idx, read_idx
from app.errors import DatasetError

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
DIGIT_CLASSES = [str(d) for d in range(10)]

# Where Debian's `dataset-fashion-mnist` package puts the files.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def _idx_folder(root: Path, dataset_subdir: str) -> Path:
    """Accept the folder of the files itself or torchvision's `<root>/<Name>/raw` layout."""
    for candidate in (root, root / dataset_subdir / "raw", root / dataset_subdir):
        if any(candidate.glob("train-images*idx3-ubyte*")):
            return candidate
    return root


def load_idx_dataset(name: str, root: Path, classes: list[str], subdir: str) -> Dataset:
    if not root.is_dir():
        raise DatasetError(f"{name}: folder {root} does not exist: pass --data-dir with the folder of the IDX files")
    folder = _idx_folder(root, subdir)
    split = {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
        labels_path = find_idx(folder, f"{prefix}-labels-idx1-ubyte")
        labels = read_idx(labels_path)
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise DatasetError(
                f"{name} {part} images in {folder} have shape {tuple(images.shape)}, expected (N, H, W) uint8: "
                "these are not MNIST-style image files"
            )
        if labels.ndim != 1:
            raise DatasetError(f"{name} {part} labels in {folder} have shape {tuple(labels.shape)}, expected (N,)")
        labels = torch.from_numpy(integer_labels(labels.numpy(), str(labels_path), "replace the label file"))
        split[part] = (images.unsqueeze(1).contiguous(), labels)
    return Dataset(
        name=name,
        train_x=split["train"][0],
        train_y=split["train"][1],
        test_x=split["test"][0],
        test_y=split["test"][1],
        classes=classes,
        source=str(folder),
        data_dir=str(root),
    )


def load_fashion_mnist(data_dir: str | None) -> Dataset:
    root = Path(data_dir) if data_dir else FASHION_SYSTEM_DIR
    if data_dir is None and not root.is_dir():
        raise DatasetError(
            f"Fashion-MNIST not found in {root}: install it with `apt-get install dataset-fashion-mnist` "
            "or pass --data-dir with the folder of its IDX files"
        )
    return load_idx_dataset("fashion-mnist", root, FASHION_CLASSES, "FashionMNIST")


def load_mnist(data_dir: str | None) -> Dataset:
    if data_dir is None:
        raise DatasetError("mnist needs --data-dir: the folder with the official IDX files (train-images-idx3-ubyte.gz, ...)")
    return load_idx_dataset("mnist", Path(data_dir), DIGIT_CLASSES, "MNIST")


def load_embedded(data_dir: str | None = None) -> Dataset:
    """The class-balanced Fashion-MNIST subset shipped in resources/ (the default everywhere)."""
    from app.resources import resource_path

    dataset = load_idx_dataset("embedded", resource_path("data", "embedded"), FASHION_CLASSES, "FashionMNIST")
    dataset.data_dir = data_dir  # released suites may still be looked up in a user's folder
    return dataset
