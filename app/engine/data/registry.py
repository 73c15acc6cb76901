"""`load_dataset(name, data_dir)`: the one entry point for every dataset the product reads."""

from app.engine.data.cifar import load_cifar10
from app.engine.data.dataset import Dataset, check_usable
from app.engine.data.imagefolder import load_image_folder
from app.engine.data.mnist import load_embedded, load_fashion_mnist, load_mnist
from app.engine.data.tiny_imagenet import load_tiny_imagenet
from app.errors import SettingsError

DATASETS = ("embedded", "fashion-mnist", "mnist", "cifar10", "tiny-imagenet", "imagefolder")


def load_dataset(name: str, data_dir: str | None = None, image_size: int | None = None) -> Dataset:
    """Load and check that a run can use it (no empty split, at least two classes)."""
    if image_size is not None and name != "imagefolder":
        # Only an image folder is resized: refused, not recorded as applied while unused.
        raise SettingsError(
            f"--image-size {image_size} resizes only an image folder (--dataset imagefolder); {name} images are "
            "used at their own size: drop --image-size"
        )
    return check_usable(_load(name, data_dir, image_size))


def _load(name: str, data_dir: str | None, image_size: int | None) -> Dataset:
    if name == "embedded":
        return load_embedded(data_dir)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_dir)
    if name == "mnist":
        return load_mnist(data_dir)
    if name == "cifar10":
        return load_cifar10(data_dir)
    if name == "tiny-imagenet":
        return load_tiny_imagenet(data_dir)
    if name == "imagefolder":
        return load_image_folder(data_dir, image_size)
    raise SettingsError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
