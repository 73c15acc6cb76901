"""The in-memory dataset every part of the engine works on."""

from dataclasses import dataclass, field

import torch

from app.engine.errors import DatasetError


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


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [0, 1]."""
    return x.float().div_(255.0)
