"""Write a generated suite in the released layout of its benchmark, so other tools can read it.

    mnist-c                     <out>/mnist_c/<corruption>/test_{images,labels}.npy + identity/  (test split)
    imagenet-c, ≤ 48 px images  <out>/CIFAR-10-C/<corruption>.npy + labels.npy
    imagenet-c, larger images   <out>/Tiny-ImageNet-C/<corruption>/<1..5>/<class>/val_<i>.JPEG (quality 85)
"""

import re
from pathlib import Path

import torch

from app.engine.corruptions import released
from app.engine.corruptions.loading import generate_set
from app.engine.corruptions.suite import get_suite, suite_for
from app.errors import DatasetError


def layout_for(dataset, suite_name: str) -> str:
    if suite_name == "mnist-c":
        return "mnist_c"
    return "cifar" if get_suite(suite_name).table(int(dataset.test_x.shape[-1])) == "C" else "tiny"


def class_folders(dataset) -> list[str]:
    """Folder per class whose sorted order is the class order: the wnids when the dataset has
    them (Tiny-ImageNet), else '<index>_<name>' with the index zero-padded."""
    wnids = dataset.extra.get("wnids") if getattr(dataset, "extra", None) else None
    if wnids and list(wnids) == sorted(wnids) and len(wnids) == len(dataset.classes):
        return list(wnids)
    width = len(str(len(dataset.classes) - 1))
    return [f"{i:0{width}d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', str(c)).strip('_') or 'class'}"
            for i, c in enumerate(dataset.classes)]


def write_suite(dataset, out_dir: Path, suite: str | None = None, seed: int = 0, progress=None) -> Path:
    """Generate the suite of dataset's test set and write it under out_dir; returns the suite folder.
    progress: optional callable(done, total, label) per corruption × severity."""
    name = suite or suite_for(dataset)
    s = get_suite(name)
    x, y = dataset.test_x, dataset.test_y
    s.check_images(x[:1])
    size = int(x.shape[-1])
    layout = layout_for(dataset, name)
    severities = s.severities(size)
    total = len(s.corruptions) * severities
    done = 0

    def step(detail):
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, f"writing {name} ({detail})")

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create {out_dir} ({exc.strerror}): choose a writable --out folder") from None

    if layout == "mnist_c":
        root = out_dir / released.MNIST_C_DIR
        released.write_mnist_c_set(root, "identity", x, y)
        for c in s.corruptions:
            images = torch.from_numpy(generate_set(s, c, 1, x, seed))
            released.write_mnist_c_set(root, c, images, y)
            step(c)
        return root

    if layout == "cifar":
        root = out_dir / released.CIFAR_C_DIR
        released.write_cifar_c_labels(root, y)
        n = len(x)
        for c in s.corruptions:
            array = released.open_cifar_c_file(root, c, n, size, int(x.shape[-2]))
            for sev in range(1, severities + 1):
                generate_set(s, c, sev, x, seed, out=array[(sev - 1) * n: sev * n], channels_last=True)
                step(f"{c} severity {sev}")
            released.close_cifar_c_file(root, c, array)
        return root

    root = out_dir / released.TINY_C_DIR
    folders = class_folders(dataset)
    width = len(str(max(len(x) - 1, 0)))
    names = [f"val_{i:0{width}d}.JPEG" for i in range(len(x))]  # zero-padded: name order = test order
    for c in s.corruptions:
        for sev in range(1, severities + 1):
            images = torch.from_numpy(generate_set(s, c, sev, x, seed))
            released.write_tiny_c_set(root, c, sev, images, y, folders, names)
            step(f"{c} severity {sev}")
    return root
