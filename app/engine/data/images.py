"""Decode image files into one uint8 tensor, with an error that names the offending file.

Decoding uses Pillow (torchvision's decoders are deprecated from 0.29 on).
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from app.engine.errors import DatasetError


def _decode(path: Path, channels: int | None, image_size: int | None) -> np.ndarray:
    try:
        with Image.open(path) as image:
            if channels == 1 or (channels is None and image.mode in ("1", "L", "I;16", "I", "F")):
                image = image.convert("L")
            else:
                image = image.convert("RGB")
            if image_size is not None and image.size != (image_size, image_size):
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=None)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path} is not a readable image ({reason}): remove it or replace it with a valid PNG/JPEG") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def read_images(paths: list[Path], image_size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Decode `paths` into (N, C, H, W) uint8.

    Mixed sizes are an error unless `image_size` asks for resizing; when gray and colour
    images are mixed, all become colour (or all `channels`, when given).
    """
    if not paths:
        return torch.zeros((0, channels or 3, image_size or 1, image_size or 1), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=4) as pool:  # Pillow releases the GIL while decoding
        images = list(pool.map(lambda p: _decode(p, channels, image_size), paths))
    if channels is None and len({im.shape[0] for im in images}) > 1:
        images = [np.repeat(im, 3, axis=0) if im.shape[0] == 1 else im for im in images]
    first = images[0].shape[1:]
    for path, image in zip(paths, images):
        if image.shape[1:] != first:
            raise DatasetError(
                f"{path} is {image.shape[2]}×{image.shape[1]} but {paths[0].name} is {first[1]}×{first[0]}: "
                "mixed image sizes; pass --image-size N to resize all images to N×N"
            )
    return torch.from_numpy(np.stack(images))
