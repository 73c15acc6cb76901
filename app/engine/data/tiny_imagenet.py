"""Tiny-ImageNet-200 in its official layout.

    tiny-imagenet-200/wnids.txt
    tiny-imagenet-200/words.txt                     (optional: readable class names)
    tiny-imagenet-200/train/<wnid>/images/*.JPEG
    tiny-imagenet-200/val/images/*.JPEG + val/val_annotations.txt

The labelled val split serves as the test set (the released test split has no labels).
Class order is the sorted wnids, as Tiny-ImageNet-C uses.
"""

from pathlib import Path

import torch

from app.engine.data.dataset import Dataset
from app.engine.data.images import read_images
from app.errors import DatasetError


def _root(data_dir: str) -> Path:
    root = Path(data_dir)
    return root if (root / "wnids.txt").exists() or (root / "train").is_dir() else root / "tiny-imagenet-200"


def load_tiny_imagenet(data_dir: str | None) -> Dataset:
    if data_dir is None:
        raise DatasetError("tiny-imagenet needs --data-dir: the folder that contains tiny-imagenet-200/")
    root = _root(data_dir)
    train_dir = root / "train"
    if not train_dir.is_dir():
        raise DatasetError(f"{train_dir} does not exist: unzip the official tiny-imagenet-200.zip into {data_dir}")
    wnids = sorted(p.name for p in train_dir.iterdir() if p.is_dir())
    if not wnids:
        raise DatasetError(f"{train_dir} has no class folders: unzip the official tiny-imagenet-200.zip again")
    index = {w: i for i, w in enumerate(wnids)}

    train_paths, train_labels = [], []
    for wnid in wnids:
        files = sorted((train_dir / wnid / "images").glob("*.JPEG")) or sorted((train_dir / wnid).glob("*.JPEG"))
        train_paths += files
        train_labels += [index[wnid]] * len(files)

    annotations = root / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise DatasetError(f"{annotations} is missing: unzip the official tiny-imagenet-200.zip again")
    val_paths, val_labels = [], []
    for number, line in enumerate(annotations.read_text().splitlines(), 1):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < 2 or fields[1] not in index:
            raise DatasetError(
                f"{annotations} line {number} names class {fields[1] if len(fields) > 1 else '?'!r}, "
                "which has no train folder: the annotations do not match the train split"
            )
        val_paths.append(root / "val" / "images" / fields[0])
        val_labels.append(index[fields[1]])

    classes = wnids
    words = root / "words.txt"
    if words.is_file():
        names = dict(line.split("\t", 1) for line in words.read_text().splitlines() if "\t" in line)
        classes = [names.get(w, w).split(",")[0].strip() for w in wnids]

    return Dataset(
        name="tiny-imagenet",
        train_x=read_images(train_paths, channels=3),
        train_y=torch.tensor(train_labels),
        test_x=read_images(val_paths, channels=3),
        test_y=torch.tensor(val_labels),
        classes=classes,
        source=str(root),
        data_dir=data_dir,
        extra={"wnids": wnids},
    )
