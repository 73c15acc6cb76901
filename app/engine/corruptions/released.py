"""Readers and writers for the released layouts of MNIST-C, CIFAR-10-C and Tiny-ImageNet-C.

    mnist_c/<corruption>/{train,test}_images.npy   (N, 28, 28, 1) uint8, + {train,test}_labels.npy
    mnist_c/identity/...                            the clean copy
    CIFAR-10-C/<corruption>.npy                     (5·N, H, W, 3) uint8: severity 1's N images, then 2's, ...
    CIFAR-10-C/labels.npy                           (5·N,) (the release) or (N,)
    Tiny-ImageNet-C/<corruption>/<1..5>/<wnid>/*.JPEG   class order = sorted wnids

Every problem with a file raises DatasetError naming the file and the fix.
"""

import warnings
from pathlib import Path

import numpy as np
import torch
from torchvision.io import encode_jpeg

from app.engine.data.images import read_images
from app.errors import DatasetError

MNIST_C_DIR = "mnist_c"
CIFAR_C_DIR = "CIFAR-10-C"
TINY_C_DIR = "Tiny-ImageNet-C"
SEVERITIES = 5
TINY_JPEG_QUALITY = 85  # the quality Tiny-ImageNet-C was saved with


def read_npy(path: Path, what: str, fix: str, mmap: bool = False) -> np.ndarray:
    """np.load with a one-line error for a missing, truncated or foreign file."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing: {fix}")
    try:
        with warnings.catch_warnings():  # numpy's note on a header it had to repair: a raw line for the user
            warnings.simplefilter("ignore", UserWarning)
            array = np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
    except Exception as exc:  # truncated data, bad header, pickled objects, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path} is not a readable {what} .npy file ({reason}): {fix}") from None
    if not isinstance(array, np.ndarray):
        raise DatasetError(f"{path} holds several arrays, expected one {what} array: {fix}")
    return array


def _labels(path: Path, fix: str) -> torch.Tensor:
    labels = read_npy(path, "label", fix)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{path} has shape {labels.shape} and dtype {labels.dtype}, expected (N,) integers: {fix}")
    return torch.from_numpy(labels.astype(np.int64))


# -- MNIST-C -------------------------------------------------------------------------------

def read_mnist_c(root: Path, corruptions: tuple[str, ...], split: str = "test") -> dict:
    """{corruption: (images uint8 (N, 1, 28, 28), labels int64 (N,))} from a `mnist_c` folder."""
    root = Path(root)
    fix = f"download mnist_c.zip again and unpack it so that {root} holds one folder per corruption"
    out = {}
    for name in corruptions:
        images_path = root / name / f"{split}_images.npy"
        images = read_npy(images_path, "image", fix, mmap=True)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[1:] != (28, 28, 1) or images.dtype != np.uint8:
            raise DatasetError(
                f"{images_path} has shape {images.shape} and dtype {images.dtype}, expected (N, 28, 28, 1) uint8 "
                f"as MNIST-C releases it: {fix}"
            )
        labels = _labels(root / name / f"{split}_labels.npy", fix)
        if len(labels) != len(images):
            raise DatasetError(
                f"{root / name}: {len(images)} images but {len(labels)} labels: the {split}_labels.npy does not "
                f"belong to {split}_images.npy; {fix}"
            )
        out[name] = (torch.from_numpy(images).permute(0, 3, 1, 2), labels)
    return out


def write_mnist_c_set(root: Path, name: str, images: torch.Tensor, labels: torch.Tensor, split: str = "test") -> None:
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    _save(folder / f"{split}_images.npy", images.permute(0, 2, 3, 1).contiguous().numpy())
    _save(folder / f"{split}_labels.npy", _label_array(labels))


# -- CIFAR-10-C ----------------------------------------------------------------------------

def read_cifar_c(root: Path, corruptions: tuple[str, ...]) -> tuple[dict, torch.Tensor]:
    """({corruption: images uint8 (5, N, 3, H, W)}, labels (N,)) from a `CIFAR-10-C` folder.

    The arrays stay memory-mapped (copy-on-write): 15 × 150 MB are read only as used.
    """
    root = Path(root)
    fix = f"download CIFAR-10-C.tar again and unpack it so that {root} holds <corruption>.npy and labels.npy"
    labels = _labels(root / "labels.npy", fix)
    out = {}
    for name in corruptions:
        path = root / f"{name}.npy"
        images = read_npy(path, "image", fix, mmap=True)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or len(images) % SEVERITIES:
            raise DatasetError(
                f"{path} has shape {images.shape} and dtype {images.dtype}, expected (5·N, H, W, 3) uint8 "
                f"(severities 1..5 × N test images): {fix}"
            )
        n = len(images) // SEVERITIES
        if len(labels) not in (n, SEVERITIES * n):
            raise DatasetError(
                f"{path} holds 5 × {n} images but {root / 'labels.npy'} has {len(labels)} labels "
                f"(expected {SEVERITIES * n} or {n}): {fix}"
            )
        out[name] = torch.from_numpy(images).view(SEVERITIES, n, *images.shape[1:]).permute(0, 1, 4, 2, 3)
    n = next(iter(out.values())).shape[1] if out else len(labels)
    if len(labels) == SEVERITIES * n:
        blocks = labels.view(SEVERITIES, n)
        if not torch.equal(blocks, blocks[:1].expand_as(blocks)):
            raise DatasetError(
                f"{root / 'labels.npy'}: the 5 severity blocks hold different labels; CIFAR-10-C repeats the test "
                f"labels once per severity: {fix}"
            )
        labels = blocks[0].clone()
    return out, labels


def write_cifar_c_labels(root: Path, labels: torch.Tensor) -> None:
    Path(root).mkdir(parents=True, exist_ok=True)
    _save(Path(root) / "labels.npy", np.tile(_label_array(labels), SEVERITIES))


def open_cifar_c_file(root: Path, name: str, n: int, h: int, w: int) -> np.memmap:
    """A (5·N, H, W, 3) uint8 file to fill severity by severity (written under a temporary name)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(Path(root) / f"{name}.npy.partial", mode="w+", dtype=np.uint8,
                                     shape=(SEVERITIES * n, h, w, 3))


def close_cifar_c_file(root: Path, name: str, array: np.memmap) -> None:
    array.flush()
    del array
    (Path(root) / f"{name}.npy.partial").replace(Path(root) / f"{name}.npy")


# -- Tiny-ImageNet-C -----------------------------------------------------------------------

def tiny_c_classes(root: Path, corruption: str) -> list[str]:
    folder = Path(root) / corruption / "1"
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} does not exist: download Tiny-ImageNet-C.tar again and unpack it so that {root} holds "
            "<corruption>/<1..5>/<wnid>/*.JPEG"
        )
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def read_tiny_c_set(root: Path, corruption: str, severity: int, wnids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """One corruption at one severity: images uint8 (N, 3, H, W) and labels = index in `wnids`,
    classes in sorted-wnid order and files sorted by name within a class."""
    folder = Path(root) / corruption / str(severity)
    fix = f"download Tiny-ImageNet-C.tar again and unpack it so that {root} holds <corruption>/<1..5>/<wnid>/*.JPEG"
    if not folder.is_dir():
        raise DatasetError(f"{folder} does not exist: {fix}")
    present = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if present != sorted(wnids):
        missing = sorted(set(wnids) - set(present))[:3] or sorted(set(present) - set(wnids))[:3]
        raise DatasetError(f"{folder} has {len(present)} class folders, expected the {len(wnids)} wnids "
                           f"(first difference: {', '.join(missing)}): {fix}")
    index = {w: i for i, w in enumerate(wnids)}
    paths, labels = [], []
    for wnid in present:
        files = sorted(p for p in (folder / wnid).iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        paths += files
        labels += [index[wnid]] * len(files)
    if not paths:
        raise DatasetError(f"{folder} has no images: {fix}")
    return read_images(paths, channels=3), torch.tensor(labels, dtype=torch.int64)


def write_tiny_c_set(root: Path, corruption: str, severity: int, images: torch.Tensor, labels: torch.Tensor,
                     class_dirs: list[str], names: list[str]) -> None:
    """Save one set as JPEG quality 85 under <corruption>/<severity>/<class_dir>/<name>."""
    import warnings

    folder = Path(root) / corruption / str(severity)
    for d in set(class_dirs[int(i)] for i in labels.unique()):
        (folder / d).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        encoded = encode_jpeg(list(images.unbind(0)), quality=TINY_JPEG_QUALITY) if len(images) else []
    for data, label, name in zip(encoded, labels.tolist(), names):
        (folder / class_dirs[label] / name).write_bytes(data.numpy().tobytes())


# -- helpers -------------------------------------------------------------------------------

def _label_array(labels: torch.Tensor) -> np.ndarray:
    labels = labels.cpu().numpy()
    # the releases store uint8 labels; wider when there are more than 256 classes
    return labels.astype(np.uint8 if len(labels) == 0 or labels.max() < 256 else np.int64)


def _save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
    tmp.replace(path)
