"""Network architectures and their registry: `build(name, num_classes, in_channels, image_size)`."""

from models.registry import MODELS, build, default_model

__all__ = ["MODELS", "build", "default_model"]
