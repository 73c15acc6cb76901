"""Build a model by name; `auto` picks the default for the data's channels and size."""

from torch import nn

from app.engine.errors import AQPLError
from models.resnet import CifarResNet18
from models.small_cnn import SmallCNN

MODELS = ("auto", "small-cnn", "small-cnn-wide", "resnet18")
# The smallest image side each network can take: the small CNN pools twice before its last
# 3×3 convolution, so anything under 4×4 pools away to nothing.
MIN_IMAGE_SIZE = {"small-cnn": 4, "small-cnn-wide": 4, "resnet18": 1}


class UnknownModelError(AQPLError, ValueError):
    pass


class ImageTooSmallError(AQPLError, ValueError):
    pass


def default_model(in_channels: int, image_size: int) -> str:
    """Small grayscale images get the small CNN; colour images the CIFAR-style ResNet-18."""
    return "small-cnn" if in_channels == 1 and image_size <= 32 else "resnet18"


def check_fits(name: str, in_channels: int, image_size: int) -> str:
    """The concrete model name, or a one-line error when the model cannot take these images
    (callers check before slow work such as generating a corruption suite)."""
    if name == "auto":
        name = default_model(in_channels, image_size)
    if name not in MIN_IMAGE_SIZE:
        raise UnknownModelError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    smallest = MIN_IMAGE_SIZE[name]
    if image_size < smallest:
        raise ImageTooSmallError(
            f"images of {image_size}×{image_size} pixels are too small for the {name} model (it needs at least "
            f"{smallest}×{smallest}): resize them, e.g. --image-size 28 for an image folder"
        )
    return name


def build(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    name = check_fits(name, in_channels, image_size)
    if name == "small-cnn":
        return SmallCNN(num_classes, in_channels)
    if name == "small-cnn-wide":
        return SmallCNN(num_classes, in_channels, width=2)
    return CifarResNet18(num_classes, in_channels)
