"""`load_dataset(name, data_dir)`: the one entry point for every dataset the product reads."""

from app.engine.data.cifar import load_cifar10
from app.engine.data.dataset import Dataset, check_usable
from app.engine.data.imagefolder import load_image_folder
from app.engine.data.mnist import load_embedded, load_fashion_mnist, load_mnist
from app.engine.data.tiny_imagenet import load_tiny_imagenet
from app.errors import SettingsError
from app.registry import Registry

# The registry of datasets: name → loader(data_dir, image_size), with `family` (the defaults'
# table before the data is loaded: "gray", or "colour"; an image folder may be either) and the
# GUI's label.
DATASETS = Registry("dataset")
DATASETS.register("embedded", lambda data_dir, size: load_embedded(data_dir), family="gray",
                  label="Embedded demo (Fashion-MNIST subset, 6,000 images)")
DATASETS.register("fashion-mnist", lambda data_dir, size: load_fashion_mnist(data_dir), title="Fashion-MNIST", family="gray")
DATASETS.register("mnist", lambda data_dir, size: load_mnist(data_dir), title="MNIST", family="gray")
DATASETS.register("cifar10", lambda data_dir, size: load_cifar10(data_dir), title="CIFAR-10", family="colour")
DATASETS.register("tiny-imagenet", lambda data_dir, size: load_tiny_imagenet(data_dir), title="Tiny-ImageNet",
                  family="colour")
DATASETS.register("imagefolder", load_image_folder, family="gray",
                  label="My own images (a folder with one sub-folder per class)")


def load_dataset(name: str, data_dir: str | None = None, image_size: int | None = None) -> Dataset:
    """Load and check that a run can use it (no empty split, at least two classes)."""
    if image_size is not None and name != "imagefolder":
        # Only an image folder is resized: refused, not recorded as applied while unused.
        raise SettingsError(
            f"--image-size {image_size} resizes only an image folder (--dataset imagefolder); {name} images are "
            "used at their own size: drop --image-size"
        )
    DATASETS.check(name)
    return check_usable(DATASETS[name](data_dir, image_size))
