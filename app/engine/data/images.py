"""Decode image files into one uint8 tensor, with an error that names the offending file."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as F

from app.engine.errors import DatasetError


def _decode(path: Path) -> torch.Tensor:
    try:
        data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        image = decode_image(data, mode=ImageReadMode.UNCHANGED)
    except Exception as exc:
        raise DatasetError(
            f"{path} is not a readable image ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): "
            "remove it or replace it with a valid PNG/JPEG"
        ) from None
    if image.shape[0] in (2, 4):  # drop alpha
        image = image[: image.shape[0] - 1]
    return image


def read_images(paths: list[Path], image_size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Decode `paths` into (N, C, H, W) uint8.

    Mixed sizes are an error unless `image_size` asks for resizing; mixed gray/colour
    images are all made colour (or all `channels`, when given).
    """
    if not paths:
        return torch.zeros((0, channels or 3, image_size or 1, image_size or 1), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=4) as pool:  # decoding releases the GIL
        images = list(pool.map(_decode, paths))
    if channels is None:
        channels = 3 if any(im.shape[0] == 3 for im in images) else 1
    first = images[0].shape[1:]
    out = []
    for path, image in zip(paths, images):
        if image.shape[0] != channels:
            image = image.expand(3, -1, -1) if channels == 3 else F.rgb_to_grayscale(image)
        if image_size is not None:
            if image.shape[1:] != (image_size, image_size):
                image = F.resize(image, [image_size, image_size], antialias=True)
        elif image.shape[1:] != first:
            raise DatasetError(
                f"{path} is {image.shape[2]}×{image.shape[1]} but {paths[0].name} is {first[1]}×{first[0]}: "
                "mixed image sizes; pass --image-size N to resize all images to N×N"
            )
        out.append(image)
    return torch.stack(out).contiguous()
