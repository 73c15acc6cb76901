"""Network architectures and their registry: `build(name, num_classes, in_channels, image_size)`."""

from models.registry import MODEL_CHOICES, MODELS, UnknownModelError, build, default_model, register_model

__all__ = ["MODEL_CHOICES", "MODELS", "UnknownModelError", "build", "default_model", "register_model"]
