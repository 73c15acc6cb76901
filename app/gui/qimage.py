"""Image tensors → QImage (deep copies: Qt never points into freed numpy memory)."""

import numpy as np
import torch
from PySide6.QtGui import QImage


def to_qimage(image: torch.Tensor) -> QImage:
    """(C, H, W) floats in [0, 1], C = 1 or 3."""
    array = (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    channels, height, width = array.shape
    if channels == 1:
        data = np.ascontiguousarray(array[0])
        return QImage(data.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    data = np.ascontiguousarray(array[:3].transpose(1, 2, 0))
    return QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
