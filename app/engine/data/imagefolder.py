"""A user's own images: one sub-folder per class (torchvision's ImageFolder layout).

    DIR/<class>/*.png                    → split 80/20 into train/test (stratified, fixed seed)
    DIR/train/<class>/*, DIR/test/<class>/* (or val/) → the given split
"""

import os
from pathlib import Path

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes

from app.engine.data.dataset import Dataset
from app.engine.data.images import read_images
from app.errors import DatasetError

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def _scan(root: Path, classes: list[str]) -> tuple[list[Path], list[int], list[Path]]:
    paths, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).rglob("*")):
            if not path.is_file():
                continue
            if path.suffix.lower() in IMG_EXTENSIONS:
                paths.append(path)
                labels.append(label)
            elif not path.name.startswith("."):
                skipped.append(path)
    return paths, labels, skipped


def _classes(root: Path) -> list[str]:
    try:
        classes, _ = find_classes(str(root))
    except (FileNotFoundError, OSError):
        raise DatasetError(
            f"{root} has no class sub-folders: put the images of each class in a folder of its own (DIR/<class>/*.png)"
        ) from None
    return classes


def _display_names(classes: list[str], root: Path, warnings: list[str]) -> list[str]:
    """Class names as text: a folder name that is not valid UTF-8 (a Latin-1 'café' on a UTF-8
    system) would break every file the run writes (CSV, report, checkpoint), so it is shown
    with a replacement character instead; the folder itself is still read."""
    names = [name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for name in classes]
    renamed = [new for old, new in zip(classes, names) if new != old]
    if renamed:
        warnings.append(
            f"{len(renamed)} class folder name(s) in {os.fsencode(root).decode('utf-8', 'replace')} are not valid "
            f"UTF-8 (e.g. {renamed[0]!r}): they are shown with \ufffd; rename the folders to keep their names"
        )
    return names


def load_image_folder(data_dir: str | None, image_size: int | None = None) -> Dataset:
    if data_dir is None:
        raise DatasetError("imagefolder needs --data-dir: a folder with one sub-folder of images per class")
    if image_size is not None and image_size < 1:
        raise DatasetError(f"--image-size {image_size} is not a size: give a side in pixels of at least 1, e.g. --image-size 32")
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"{root} does not exist: pass --data-dir with a folder that has one sub-folder per class")
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    warnings = []
    if (root / "train").is_dir() and test_dir is not None:
        classes = _classes(root / "train")
        train_paths, train_labels, skipped = _scan(root / "train", classes)
        test_paths, test_labels, skipped_test = _scan(test_dir, classes)
        skipped += skipped_test
    else:
        classes = _classes(root)
        paths, labels, skipped = _scan(root, classes)
        # Stratified split: every class keeps ~20% of its images for the test set.
        generator = torch.Generator().manual_seed(SPLIT_SEED)
        labels_t = torch.tensor(labels)
        test_mask = torch.zeros(len(paths), dtype=torch.bool)
        for c in range(len(classes)):
            members = torch.nonzero(labels_t == c).flatten()
            n_test = int(round(len(members) * TEST_FRACTION))
            test_mask[members[torch.randperm(len(members), generator=generator)[:n_test]]] = True
        train_paths = [p for p, t in zip(paths, test_mask) if not t]
        train_labels = [l for l, t in zip(labels, test_mask) if not t]
        test_paths = [p for p, t in zip(paths, test_mask) if t]
        test_labels = [l for l, t in zip(labels, test_mask) if t]
    empty = [c for i, c in enumerate(classes) if i not in set(train_labels)]
    if empty:
        raise DatasetError(f"class folder(s) {', '.join(empty)} in {root} hold no images: add images or remove the folder")
    if not test_paths:
        raise DatasetError(f"{root} has too few images for a test split: add images (at least 5 per class)")
    if skipped:
        warnings.append(
            f"skipped {len(skipped)} non-image file(s) in {root} (e.g. {skipped[0].relative_to(root)}): "
            f"only {', '.join(sorted(IMG_EXTENSIONS)[:4])}, ... are read"
        )
    # One decode for both splits: sizes and channels are checked across all images at once.
    images = read_images(train_paths + test_paths, image_size, notes=warnings)
    if images.shape[2] != images.shape[3]:
        raise DatasetError(
            f"images in {root} are {images.shape[3]}×{images.shape[2]}, not square: pass --image-size N to resize them"
        )
    train_x, test_x = images[: len(train_paths)], images[len(train_paths) :]
    return Dataset(
        name="imagefolder",
        train_x=train_x,
        train_y=torch.tensor(train_labels, dtype=torch.int64),
        test_x=test_x,
        test_y=torch.tensor(test_labels, dtype=torch.int64),
        classes=_display_names(classes, root, warnings),
        source=str(root),
        data_dir=str(root),
        extra={"warnings": warnings},
    )
