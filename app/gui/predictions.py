"""The model's prediction at each candidate level, for the query panel's optional display.

Runs on a CPU copy of the weights the worker sends after each evaluation, never on the
training model: the training thread owns that one. A dozen small images: a few milliseconds.
"""

import torch

from models import build


class Predictor:
    def __init__(self, model_name: str, num_classes: int, in_channels: int, image_size: int):
        self.model = build(model_name, num_classes, in_channels, image_size).eval()
        self.loaded = False

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state)
        self.loaded = True

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> tuple[list[int], list[float]]:
        """images: (L, C, H, W) floats in [0, 1] → (class per image, its probability)."""
        probs = torch.softmax(self.model(images), dim=1)
        confidence, classes = probs.max(dim=1)
        return classes.tolist(), confidence.tolist()
