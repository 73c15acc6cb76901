"""The registry of architectures: `build(name, num_classes, in_channels, image_size)`.

A builder is registered under its name with `@register_model(name, min_image_size=...)` (as
torchvision's `register_model`); the command line's choices, the GUI's combo box and validation
read `MODEL_CHOICES`: the registered names plus `auto`, which picks the default for the data's
channels and size.
"""

import torch
from torch import nn

from app.errors import SettingsError
from app.registry import Registry
from models.resnet import CifarResNet18
from models.small_cnn import SmallCNN

AUTO = "auto"
# name → builder(num_classes, in_channels), with `min_image_size`: the smallest image side the
# network can take (the small CNN pools twice before its last 3×3 convolution, so anything under
# 4×4 pools away to nothing)
MODELS = Registry("model")
register_model = MODELS.register


class UnknownModelError(SettingsError):
    """A model name no builder is registered under (one line for the user)."""


@register_model("small-cnn", min_image_size=4)
def small_cnn(num_classes: int, in_channels: int) -> nn.Module:
    return SmallCNN(num_classes, in_channels)


@register_model("small-cnn-wide", min_image_size=4)
def small_cnn_wide(num_classes: int, in_channels: int) -> nn.Module:
    return SmallCNN(num_classes, in_channels, width=2)


@register_model("resnet18", min_image_size=1)
def resnet18(num_classes: int, in_channels: int) -> nn.Module:
    return CifarResNet18(num_classes, in_channels)


MODEL_CHOICES = (AUTO, *MODELS)


class ImageTooSmallError(SettingsError):
    """Images smaller than the model can take (one line for the user)."""


def default_model(in_channels: int, image_size: int) -> str:
    """Small grayscale images get the small CNN; colour images the CIFAR-style ResNet-18."""
    return "small-cnn" if in_channels == 1 and image_size <= 32 else "resnet18"


def check_fits(name: str, in_channels: int, image_size: int, fix: str | None = None) -> str:
    """The concrete model name, or a one-line error when the model cannot take these images
    (callers check before slow work such as generating a corruption suite). `fix`: what the
    user should do about images too small (default: resize them with --image-size)."""
    if name == AUTO:
        name = default_model(in_channels, image_size)
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}: choose one of {', '.join(MODEL_CHOICES)}")
    smallest = MODELS.entry(name).facts.get("min_image_size", 1)
    if image_size < smallest:
        raise ImageTooSmallError(
            f"images of {image_size}×{image_size} pixels are too small for the {name} model (it needs at least "
            f"{smallest}×{smallest}): {fix or 'resize them, e.g. --image-size 28 for an image folder'}"
        )
    return name


def build(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """The network, its convolution weights in channels-last memory: oneDNN's convolutions and
    max-pooling run 1.7× (training) to 2× (inference) faster that way on the CPU, measured on
    the small CNN with 1 and 2 threads (benchmarks/bench_layout.py), and cuDNN's do on a GPU.
    The activations follow the weights' layout from ordinary NCHW input; outputs are the same up
    to float rounding."""
    name = check_fits(name, in_channels, image_size)
    return MODELS[name](num_classes, in_channels).to(memory_format=torch.channels_last)
