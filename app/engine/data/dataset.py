"""The in-memory dataset every part of the engine works on."""

from dataclasses import dataclass, field

import numpy as np
import torch

from app.errors import DatasetError


@dataclass
class Dataset:
    """Images as uint8 tensors (N, C, H, W), labels as int64 (N,).

    Keeping uint8 in memory makes even Tiny-ImageNet (100k × 64×64×3) fit in ~1.2 GB;
    batches are turned into floats in [0, 1] only when they are used.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    source: str = ""
    # Folder the released corruption suites are looked up in (MNIST-C, CIFAR-10-C, ...).
    data_dir: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise DatasetError(
                    f"{self.name} {split} images have shape {tuple(x.shape)} and dtype {x.dtype}, "
                    "expected uint8 (N, C, H, W): check the dataset files"
                )
            if y.is_floating_point() and not bool(torch.isfinite(y).all() and torch.equal(y, y.round())):
                raise DatasetError(
                    f"{self.name} {split} labels are fractional numbers: labels are class numbers 0, 1, 2, ...; "
                    "check the dataset files"
                )
            if y.ndim != 1 or len(y) != len(x):
                raise DatasetError(
                    f"{self.name} {split}: {len(x)} images but {len(y)} labels: the label file does not "
                    "match the image file; replace the dataset files"
                )
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
                raise DatasetError(
                    f"{self.name} {split} labels lie in [{int(y.min())}, {int(y.max())}] but there are "
                    f"{len(self.classes)} classes: the label file is corrupt; replace it"
                )
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise DatasetError(
                f"{self.name}: train images are {tuple(self.train_x.shape[1:])} but test images "
                f"{tuple(self.test_x.shape[1:])}: use one image size for both splits"
            )
        self.train_y = self.train_y.long()
        self.test_y = self.test_y.long()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[2])

    @property
    def family(self) -> str:
        """'gray' for single-channel data (MNIST-like), 'colour' otherwise; picks defaults and suite."""
        return "gray" if self.in_channels == 1 else "colour"

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.train_x)}, test={len(self.test_x)}, "
            f"shape={tuple(self.train_x.shape[1:])}, classes={self.num_classes})"
        )


def integer_labels(values, where: str, fix: str) -> np.ndarray:
    """Labels as int64, refusing what a cast would silently change: text, fractions (1.5 → 1),
    NaN. Whole-number floats (3.0) are fine. `where` names the file, `fix` what to do."""
    try:
        array = np.asarray(values)
    except Exception:
        raise DatasetError(f"{where}: the labels are not a list of whole numbers: {fix}") from None
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "b" or array.dtype.kind not in "f":
        first = array.flat[0] if array.size else None
        first = first.item() if hasattr(first, "item") else first  # an object array holds plain values
        if array.dtype.kind in "US" or isinstance(first, (str, bytes)):
            kind = "text"
        else:
            kind = "not numbers" if array.dtype.kind == "O" else f"{array.dtype.name} values"
        are = "are not numbers" if kind == "not numbers" else f"are {kind}"
        raise DatasetError(f"{where}: the labels {are} (e.g. {first!r}), not class numbers 0, 1, 2, ...: {fix}")
    whole = np.isfinite(array) & (array == np.round(array))
    if not whole.all():
        bad = array[~whole].flat[0]
        bad = bad.item() if hasattr(bad, "item") else bad
        raise DatasetError(f"{where}: label {bad!r} is not a whole number (labels are class numbers 0, 1, 2, ...): {fix}")
    huge = np.abs(array.astype(np.float64)) >= 2**53  # past exact floats; past 2^63 a cast to int64 is undefined
    if huge.any():
        bad = array[huge].flat[0].item()
        raise DatasetError(f"{where}: label {bad!r} is no class number (labels are class numbers 0, 1, 2, ...): {fix}")
    return array.astype(np.int64)


def check_usable(dataset: Dataset) -> Dataset:
    """What a loader may legally read but no run can use: an empty split trains on nothing or
    reports an accuracy of NaN, and one class makes every prediction right."""
    where = f"{dataset.name} in {dataset.source}" if dataset.source else dataset.name
    if len(dataset.train_x) == 0:
        raise DatasetError(f"{where} has no training images: the training split is empty; check the dataset files")
    if len(dataset.test_x) == 0:
        raise DatasetError(
            f"{where} has no test images: accuracies would be meaningless; check the dataset files (the test split is empty)"
        )
    present = sorted({int(c) for c in dataset.train_y.unique().tolist()})
    if len(present) < 2:
        only = dataset.classes[present[0]] if present else "none"
        raise DatasetError(
            f"{where} has training images of one class only ({only}): a classifier needs at least two classes; "
            "add the images of the other classes"
        )
    return dataset


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [0, 1]."""
    return x.float().div_(255.0)
