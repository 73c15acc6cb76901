"""Build a model by name; `auto` picks the default for the data's channels and size."""

from torch import nn

from models.resnet import CifarResNet18
from models.small_cnn import SmallCNN

MODELS = ("auto", "small-cnn", "small-cnn-wide", "resnet18")


class UnknownModelError(ValueError):
    pass


def default_model(in_channels: int, image_size: int) -> str:
    """Small grayscale images get the small CNN; colour images the CIFAR-style ResNet-18."""
    return "small-cnn" if in_channels == 1 and image_size <= 32 else "resnet18"


def build(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    if name == "auto":
        name = default_model(in_channels, image_size)
    if name == "small-cnn":
        return SmallCNN(num_classes, in_channels)
    if name == "small-cnn-wide":
        return SmallCNN(num_classes, in_channels, width=2)
    if name == "resnet18":
        return CifarResNet18(num_classes, in_channels)
    raise UnknownModelError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
